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
"""

import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

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
    """Extend our lease; False when it is no longer ours (the session must stop)."""
    now = timezone.now()
    return bool(
        Connection.objects.filter(pk=connection_id, lease_owner=owner).update(
            lease_expires_at=_expiry(), last_seen_at=now
        )
    )


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
    return bool(
        connection.lease_owner
        and connection.lease_expires_at
        and connection.lease_expires_at > timezone.now()
        and connection.lease_owner not in _dead_local_owners(connection.pk)
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
