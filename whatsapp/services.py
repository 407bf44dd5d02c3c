"""Writes to connections. Every state change goes through ``connection_transition``,
which writes the log line and sends the realtime event on commit, in one place;
every change of a connection's settings through ``connection_update``, which
logs which settings changed and who changed them. The API, the pages and the
admin call these and never ``save()`` a connection themselves.
"""

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.realtime import dashboard_changed, publish_on_commit, session_wake
from tickets.models import Queue
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.tasks import session_enqueue
from whatsapp.webhooks import webhook_emit

logger = logging.getLogger(__name__)

STAFF_GROUP = "connections"  # every staff browser watching connections
LIMIT_LOCK_KEY = 0x57A1  # PostgreSQL advisory lock id for "creating a connection"


def connection_group(connection_id: int) -> str:
    return f"connection-{connection_id}"


class ConnectionLimitReached(Exception):
    def __init__(self, *, current: int, maximum: int) -> None:
        self.current, self.maximum = current, maximum
        super().__init__(
            _("This helpdesk may have at most %(max)d WhatsApp connections; it has %(current)d.")
            % {"max": maximum, "current": current}
        )


def connection_create(
    *,
    name: str,
    queues: Iterable[Queue] = (),
    enabled: bool = True,
    by: User | None = None,
    **fields: Any,
) -> Connection:
    """Create a connection and, when ``enabled``, start its session (it shows a QR code), unless
    MAX_WHATSAPP_CONNECTIONS are there already (ConnectionLimitReached).

    Count and insert happen under one lock, so two concurrent creates cannot
    both pass: a PostgreSQL advisory lock, or on SQLite the write lock its
    IMMEDIATE transactions take up front. The session is queued once the
    connection is committed.
    """
    maximum = settings.MAX_WHATSAPP_CONNECTIONS
    with transaction.atomic():
        if db_connection.vendor == "postgresql":
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LIMIT_LOCK_KEY])
        current = Connection.objects.count()
        if current >= maximum:
            raise ConnectionLimitReached(current=current, maximum=maximum)
        connection = Connection.objects.create(name=name, enabled=enabled, **fields)
        connection.queues.set(queues)
        connection_log(connection=connection, message=_("Connection created"), data=_by(by))
        if enabled:
            session_enqueue(connection_id=connection.pk)
        dashboard_changed()
    return connection


def connection_update(*, connection: Connection, changes: dict[str, Any], by: User | None) -> Connection:
    """Change the connection's settings (``changes``: field name -> value, as a form cleans them).

    Only what differs from the stored row is written; the log says which
    settings changed and who changed them (never their values: a webhook
    secret is one) and the pages show it live. A running session keeps
    running; a change of ``enabled`` starts or stops it as ``connection_request``
    does. The row is locked while compared, so two editors' changes are
    logged one after the other.
    """
    with transaction.atomic():
        stored = Connection.objects.select_for_update().get(pk=connection.pk)
        changed = [name for name, value in changes.items() if _setting(stored, name) != _comparable(value)]
        if not changed:
            return connection
        for name in changed:
            if name != "queues":
                setattr(connection, name, changes[name])
        connection.save(update_fields=[*(name for name in changed if name != "queues"), "updated_at"])
        if "queues" in changed:
            connection.queues.set(changes["queues"])
        labels = ", ".join(
            str(getattr(Connection._meta.get_field(name), "verbose_name", name)) for name in changed
        )
        connection_log(
            connection=connection,
            message=_("Settings changed: %(settings)s") % {"settings": labels},
            data={"changed": changed, **_by(by)},
        )
        if "enabled" in changed:
            _session_follow(connection)
            dashboard_changed()
    return connection


def _setting(connection: Connection, name: str) -> Any:
    if name == "queues":
        return set(connection.queues.values_list("pk", flat=True))
    return getattr(connection, name)


def _comparable(value: Any) -> Any:
    """A form's queues (a QuerySet) compare as their ids; other values as they are."""
    if isinstance(value, Iterable) and not isinstance(value, str):
        return {getattr(item, "pk", item) for item in value}
    return value


def _by(user: User | None) -> dict[str, Any]:
    return {"by": user.pk, "by_name": user.get_username()} if user is not None else {}


def connection_log(
    *, connection: Connection, message: str, kind: str = ConnectionEvent.Kind.INFO, data: dict | None = None
) -> ConnectionEvent:
    """Add a line to the connection's log and show it live."""
    event = ConnectionEvent.objects.create(connection=connection, kind=kind, message=message, data=data or {})
    log = logger.error if kind == ConnectionEvent.Kind.ERROR else logger.info
    log(message, extra={"connection_id": connection.pk, **(data or {})})
    _publish(connection, event)
    return event


def connection_transition(
    *, connection: Connection, to: str, message: str = "", data: dict | None = None, **fields
) -> Connection:
    """Move the connection to status ``to`` (and set ``fields``), logging the change.

    A "transition" to the status it already has only updates the fields.
    """
    from_status = connection.status
    connection.status = to
    for name, value in fields.items():
        setattr(connection, name, value)
    with transaction.atomic():
        connection.save(update_fields=["status", "updated_at", *fields])
        if from_status != to:
            event = ConnectionEvent.objects.create(
                connection=connection,
                kind=ConnectionEvent.Kind.STATE,
                from_status=from_status,
                to_status=to,
                message=message,
                data=data or {},
            )
            logger.info("%s → %s %s", from_status, to, message, extra={"connection_id": connection.pk})
            _publish(connection, event)
            dashboard_changed()
            webhook_emit(
                connection=connection,
                event="connection.status",
                payload={"from": from_status, "to": to, "message": message},
            )
        else:
            _publish(connection, None)
    return connection


def connection_request(*, connection: Connection, enabled: bool | None = None, command: str = "") -> None:
    """Ask for the session to start, stop, restart or log out.

    The wish is written to the database first (durable), then the session is
    started or woken; a running session also polls, so a lost wake-up only
    delays it.
    """
    updates: dict[str, Any] = {}
    if enabled is not None:
        updates["enabled"] = enabled
    if command:
        updates["command"] = command
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(**updates, updated_at=timezone.now())
        for name, value in updates.items():
            setattr(connection, name, value)
        _session_follow(connection)


def _session_follow(connection: Connection) -> None:
    """Once committed: start the session if the connection should run, and wake a running one
    so that it reads its orders now."""
    if connection.enabled:
        session_enqueue(connection_id=connection.pk)
    session_wake(connection_id=connection.pk)


def connection_delete(*, connection: Connection) -> None:
    """Delete the connection and its browser profile; a running session notices and stops.

    Refused (ProtectedError) while tickets refer to the connection.
    """
    from whatsapp.lease import lease_is_live
    from whatsapp.profiles import profile_wipe

    connection_id, running = connection.pk, lease_is_live(connection)
    with transaction.atomic():
        connection.delete()
        session_wake(connection_id=connection_id)
        if not running:  # else the session wipes the profile once its browser is closed
            transaction.on_commit(lambda: profile_wipe(connection_id=connection_id))
        dashboard_changed()


def _publish(connection: Connection, event: ConnectionEvent | None) -> None:
    payload = {"connection": connection_payload(connection)}
    if event is not None:
        payload["event"] = event_payload(event)
    publish_on_commit(
        groups=[STAFF_GROUP, connection_group(connection.pk)],
        event_type="connection.changed",
        payload=payload,
    )


def connection_payload(connection: Connection) -> dict:
    return {
        "id": connection.pk,
        "name": connection.name,
        "phone": connection.phone,
        "status": connection.status,
        "status_label": str(connection.get_status_display()),
        "enabled": connection.enabled,
        "qr_code": connection.qr_code if connection.status == Connection.Status.QR else "",
        "qr_generated_at": connection.qr_generated_at.isoformat() if connection.qr_generated_at else None,
        "last_error": connection.last_error,
    }


def event_payload(event: ConnectionEvent) -> dict:
    return {
        "id": event.pk,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "message": event.message,
    }
