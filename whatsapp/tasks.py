"""Background work of the whatsapp app, run by django-q2 workers.

Sessions run on the "sessions" cluster (``manage.py session_worker``), one
long task per connection; the rest on the default cluster.
"""

import logging

from django.db import transaction
from django_q.tasks import async_task

from whatsapp.browser import browser_pids
from whatsapp.lease import lease_reserve
from whatsapp.models import Connection
from whatsapp.profiles import profile_wipe, profiles_orphaned

logger = logging.getLogger(__name__)

SESSIONS_CLUSTER = "sessions"


def session_enqueue(*, connection_id: int) -> None:
    """Start a session for the connection once this transaction commits, unless one holds it."""

    transaction.on_commit(lambda: session_start(connection_id=connection_id))


def sessions_restore() -> int:
    """Start every enabled connection that no live worker holds; returns how many were started."""
    enabled = Connection.objects.filter(enabled=True).values_list("pk", flat=True)
    started = sum(session_start(connection_id=connection_id) for connection_id in enabled)
    if started:
        logger.info("restoring %d sessions", started)
    return started


def session_start(*, connection_id: int) -> bool:
    """Reserve the lease and queue the session task; False when a live worker holds it."""
    if not lease_reserve(connection_id=connection_id):
        return False
    async_task(
        "whatsapp.session.session_run",
        connection_id,
        cluster=SESSIONS_CLUSTER,
        task_name=f"session {connection_id}",
    )
    return True


def profiles_housekeeping() -> int:
    """Remove browser profiles that belong to no connection (and no running browser)."""
    known = set(Connection.objects.values_list("pk", flat=True))
    removed = 0
    for path in profiles_orphaned(known_ids=known):
        if path.name.isdigit() and not browser_pids(profile=path):
            profile_wipe(connection_id=int(path.name))
            removed += 1
    return removed
