"""Which worker drives a connection: a lease in the connection's row.

Every operation is one conditional UPDATE, atomic on PostgreSQL and SQLite
alike, so two workers can never both believe they hold a connection. A holder
renews the lease with each heartbeat; a worker that dies stops renewing and the
lease expires. A lease whose holder is a dead process on this very machine is
taken over at once, without waiting for the expiry. The owner names its process
by host, PID and the PID's start time, so a PID the kernel handed out again (a
restarted container keeps its host name and often its PIDs) is not mistaken for
the old holder. Expiry is always compared with the database's clock: workers on
several machines may disagree about the time, the database is the one referee.

The lease alone cannot stop a holder that was frozen (a stopped process, a VM
paused, a long pause in the database) from waking up after another worker took
over and writing as if nothing happened. So every write of a session is fenced
(``lease_fenced``): its transaction checks, last, that the row still names the
session as an unexpired holder and locks that row until the commit, so a
takeover either happened before the check (the transaction is rolled back,
``LeaseLost``) or waits until the commit. A session that lost its lease writes
nothing (docs/sessions.md).
"""

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from helpdesk.files import files_removed_on_failure
from whatsapp.models import Connection

QUEUED = "queued"  # held for a session task that is enqueued but not yet running


def lease_owner_id() -> str:
    """``host:pid:start:random``: ``start`` is the process's start time, which a reused PID does not share."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or 0}:{uuid.uuid4().hex[:8]}"


def _expiry():
    """The database's clock plus the lease length, computed by the database in the UPDATE itself."""
    return Now() + timedelta(seconds=settings.WHATSAPP_LEASE)


def _expired() -> Q:
    return Q(lease_expires_at__lt=Now())


class LeaseLost(Exception):
    """The session no longer holds its connection's lease: it must write nothing more and stop."""


def _free() -> Q:
    """Nobody holds it, the holder's time is up, or it was reserved for the session now starting."""
    return Q(lease_owner="") | _expired() | Q(lease_owner=QUEUED)


def lease_reserve(*, connection_id: int) -> bool:
    """Mark the connection as about to be run, unless someone holds it. True if reserved."""
    free = Q(lease_owner="") | _expired() | Q(lease_owner__in=_dead_local_owners(connection_id))
    return bool(
        Connection.objects.filter(free, pk=connection_id).update(
            lease_owner=QUEUED, lease_expires_at=_expiry()
        )
    )


def lease_acquire(*, connection_id: int, owner: str) -> bool:
    free = _free() | Q(lease_owner__in=_dead_local_owners(connection_id))
    return bool(
        Connection.objects.filter(free, pk=connection_id).update(
            lease_owner=owner, lease_expires_at=_expiry()
        )
    )


def lease_renew(*, connection_id: int, owner: str) -> bool:
    """Extend our lease; False when it is no longer ours or has expired (the session must stop).

    An expired lease is lost even when nobody took it yet: the fence already refuses
    the session's writes, and the restore schedule may be starting another session.
    """
    now = timezone.now()
    return bool(
        Connection.objects.filter(_held(owner), pk=connection_id).update(
            lease_expires_at=_expiry(), last_seen_at=now
        )
    )


def lease_fence(*, connection_id: int, owner: str) -> None:
    """Raise ``LeaseLost`` unless ``owner`` holds the connection's unexpired lease.

    Inside a transaction the row stays locked until the commit (FOR NO KEY UPDATE
    on PostgreSQL, which still lets other transactions insert rows referring to the
    connection; on SQLite the transaction's write lock does the same), so no
    takeover can slip in between this check and the commit. Alone, it is a check
    of its own (a session about to send a message).
    """
    with transaction.atomic(savepoint=False):
        held = (
            Connection.objects.select_for_update(no_key=True)
            .filter(_held(owner), pk=connection_id)
            .values_list("pk", flat=True)
            .first()
        )
    if held is None:
        raise LeaseLost(f"connection {connection_id} is no longer held by {owner}")


@contextmanager
def lease_fenced(*, connection_id: int, owner: str) -> Iterator[None]:
    """A transaction that commits only if ``owner`` still holds the lease when it ends.

    The fence comes last, just before the commit, so the row is locked only for the
    commit itself and the chats a session stores side by side do not wait for each
    other. Files saved inside are removed again when the transaction is rolled back.
    """
    with files_removed_on_failure(), transaction.atomic():
        yield
        lease_fence(connection_id=connection_id, owner=owner)


def _held(owner: str) -> Q:
    return Q(lease_owner=owner, lease_expires_at__gt=Now())


def lease_release(*, connection_id: int, owner: str) -> None:
    Connection.objects.filter(pk=connection_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def leases_queued_release() -> int:
    """Free every lease reserved for a session task not yet running; returns how many.

    A worker starting now runs what is queued; a reservation a stopped worker left
    behind (its task lost with it) would otherwise hold the connection until the
    lease expires and the next restore tick, about two minutes. A task still queued
    finds its connection taken by the new reservation's session and ends at once.
    """
    return Connection.objects.filter(lease_owner=QUEUED).update(lease_owner="", lease_expires_at=None)


def lease_is_live(connection: Connection) -> bool:
    """Whether a worker holds the connection now (its expiry judged by the database's clock)."""
    return bool(
        connection.lease_owner
        and connection.lease_owner not in _dead_local_owners(connection.pk)
        and Connection.objects.filter(_held(connection.lease_owner), pk=connection.pk).exists()
    )


def _dead_local_owners(connection_id: int) -> list[str]:
    """The connection's lease owner if it is a process of this machine that no longer runs.

    An owner written with a start time is alive only while its PID runs *and* started at that time;
    an owner in the older ``host:pid:random`` form is judged by its PID alone.
    """
    owner = Connection.objects.filter(pk=connection_id).values_list("lease_owner", flat=True).first() or ""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return []
    started = _process_start(int(parts[1]))
    if started is None:
        return [owner]
    recorded = parts[2] if len(parts) >= 4 and parts[2].isdigit() else None
    return [owner] if recorded is not None and int(recorded) != started else []


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks after boot; None when it does not run (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    if fields[0] == "Z":
        return None
    return int(fields[19])  # field 22 of proc(5): starttime; fields[0] is field 3
