"""Which worker drives a connection: a lease in the connection's row.

Every operation is one conditional UPDATE, atomic on PostgreSQL and SQLite
alike, so two workers can never both believe they hold a connection. A holder
renews the lease with each heartbeat; a worker that dies stops renewing and the
lease expires. A lease whose holder is a dead process on this very machine is
taken over at once, without waiting for the expiry.
"""

import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from whatsapp.models import Connection

QUEUED = "queued"  # held for a session task that is enqueued but not yet running


def lease_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _expiry():
    return timezone.now() + timedelta(seconds=settings.WHATSAPP_LEASE)


def _free() -> Q:
    """Nobody holds it, the holder's time is up, or it was reserved for the session now starting."""
    return Q(lease_owner="") | Q(lease_expires_at__lt=timezone.now()) | Q(lease_owner=QUEUED)


def lease_reserve(*, connection_id: int) -> bool:
    """Mark the connection as about to be run, unless someone holds it. True if reserved."""
    free = Q(lease_owner="") | Q(lease_expires_at__lt=timezone.now()) | Q(lease_owner__in=_dead_local_owners(connection_id))
    return bool(
        Connection.objects.filter(free, pk=connection_id).update(lease_owner=QUEUED, lease_expires_at=_expiry())
    )


def lease_acquire(*, connection_id: int, owner: str) -> bool:
    free = _free() | Q(lease_owner__in=_dead_local_owners(connection_id))
    return bool(Connection.objects.filter(free, pk=connection_id).update(lease_owner=owner, lease_expires_at=_expiry()))


def lease_renew(*, connection_id: int, owner: str) -> bool:
    """Extend our lease; False when it is no longer ours (the session must stop)."""
    now = timezone.now()
    return bool(
        Connection.objects.filter(pk=connection_id, lease_owner=owner).update(
            lease_expires_at=_expiry(), last_seen_at=now
        )
    )


def lease_release(*, connection_id: int, owner: str) -> None:
    Connection.objects.filter(pk=connection_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


def lease_is_live(connection: Connection) -> bool:
    return bool(
        connection.lease_owner
        and connection.lease_expires_at
        and connection.lease_expires_at > timezone.now()
        and connection.lease_owner not in _dead_local_owners(connection.pk)
    )


def _dead_local_owners(connection_id: int) -> list[str]:
    """The connection's lease owner if it is a process of this machine that no longer runs."""
    owner = Connection.objects.filter(pk=connection_id).values_list("lease_owner", flat=True).first() or ""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return []
    return [] if _process_runs(int(pid)) else [owner]


def _process_runs(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie, dead but not yet reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
