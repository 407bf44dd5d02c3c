"""Writes to connections. Every state change goes through ``connection_transition``,
which writes the log line and sends the realtime event on commit, in one place;
every change of a connection's settings through ``connection_update``, which
logs which settings changed and who changed them. The API, the pages and the
admin call these and never ``save()`` a connection themselves; nor does a running
session, whose writes are the services at the end of this module.
"""

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from helpdesk.phones import phone_display
from helpdesk.realtime import dashboard_changed, publish_on_commit, session_wake
from tickets.models import Queue
from whatsapp.lease import LeaseLost, lease_fence, lease_fenced, lease_release
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.outcomes import Outcome
from whatsapp.profiles import profile_mark_used, profile_wipe
from whatsapp.saved_logins import saved_logins_delete
from whatsapp.tasks import session_enqueue, session_start
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
        connection_log(
            connection=connection,
            message=in_helpdesk_language(gettext_noop("Connection created")),
            data=_by(by),
        )
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
        # The settings' names stay lazy until the line is written in the helpdesk's language.
        labels = format_lazy(
            ", ".join("{}" for _name in changed),
            *(getattr(Connection._meta.get_field(name), "verbose_name", name) for name in changed),
        )
        connection_log(
            connection=connection,
            message=in_helpdesk_language(gettext_noop("Settings changed: %(settings)s"), settings=labels),
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
    """Add a line to the connection's log and show it live. ``message`` is a record read by every
    admin, written in the helpdesk's language (``in_helpdesk_language``, docs/decisions.md "Languages")."""
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
    """Delete the connection, its browser profile and its saved logins; a running session notices and stops.

    Refused (ProtectedError) while tickets refer to the connection.
    """
    from whatsapp.lease import lease_is_live

    connection_id, running = connection.pk, lease_is_live(connection)
    with transaction.atomic():
        saved_logins_delete(connection_id=connection_id)  # their rows go with the connection, not their files
        connection.delete()
        session_wake(connection_id=connection_id)
        if not running:  # else the session wipes the profile once its browser is closed
            transaction.on_commit(lambda: profile_wipe(connection_id=connection_id))
        dashboard_changed()


# -- what a running session writes (whatsapp/session.py) ------------------------------------
# Each write of a session is fenced by its lease (whatsapp/lease.py): the session calls the
# services that take a ``connection`` inside ``lease_fenced``, the ones that take its ``owner``
# fence their writes themselves. A session that lost its lease writes nothing.

Status = Connection.Status


def connection_qr_shown(*, connection: Connection, code: str) -> bool:
    """WhatsApp Web shows QR code ``code``. False when WHATSAPP_QR_MAX_CODES were shown already:
    the connection stops instead (``connection_qr_expired``), nobody is scanning."""
    attempts = connection.qr_attempts + 1
    if attempts > settings.WHATSAPP_QR_MAX_CODES:
        connection_qr_expired(connection=connection)
        return False
    with transaction.atomic():
        connection_transition(
            connection=connection,
            to=Status.QR,
            message=in_helpdesk_language(gettext_noop("Waiting for the QR code to be scanned")),
            qr_code=code,
            qr_generated_at=timezone.now(),
            qr_attempts=attempts,
        )
        connection_log(
            connection=connection,
            message=in_helpdesk_language(
                gettext_noop("QR code %(number)d of %(total)d"),
                number=attempts,
                total=settings.WHATSAPP_QR_MAX_CODES,
            ),
            data={"metric": "qr_code"},
        )
    return True


def connection_qr_expired(*, connection: Connection) -> None:
    """No QR code was scanned: stopped, so that no browser waits for a phone that does not come."""
    not_scanned = in_helpdesk_language(gettext_noop("QR not scanned"))
    connection_transition(
        connection=connection,
        to=Status.STOPPED,
        message=not_scanned,
        last_error=not_scanned,
        qr_code="",
        enabled=False,
    )


def connection_connected(
    *, connection: Connection, phone: str, restored: bool, web_version: str = ""
) -> None:
    """Logged in as ``phone`` (digits); ``restored``: with the login the profile had saved;
    ``web_version``: the WhatsApp Web version the page runs ("" when unknown: the last one is kept)."""
    connection_transition(
        connection=connection,
        to=Status.CONNECTED,
        message=in_helpdesk_language(gettext_noop("Connected as %(phone)s"), phone=phone_display(phone))
        if phone
        else in_helpdesk_language(gettext_noop("Connected")),
        phone=phone,
        qr_code="",
        qr_attempts=0,
        reconnect_attempts=0,
        last_error="",
        data={"metric": "restore_ok"} if restored else None,
        **({"web_version": web_version} if web_version else {}),
    )


def connection_went_offline(*, connection: Connection) -> None:
    """WhatsApp Web lost its connection; a session still logging in or in a QR stays as it is."""
    if connection.status in (Status.CONNECTED, Status.STARTING):
        connection_transition(
            connection=connection,
            to=Status.DISCONNECTED,
            message=in_helpdesk_language(gettext_noop("WhatsApp Web lost its connection")),
        )


def connection_command_done(*, connection_id: int) -> None:
    """The session took the order (restart, log out): it is not taken twice."""
    Connection.objects.filter(pk=connection_id).update(command="")


def connection_heartbeat(*, connection_id: int, owner: str, memory: int) -> None:
    """A running session's beat: the browser's ``memory`` for /metrics, and a connected profile
    marked as used (a profile unused for long is wiped, whatsapp/profiles.py)."""
    with lease_fenced(connection_id=connection_id, owner=owner):
        Connection.objects.filter(pk=connection_id).update(browser_memory=memory)
    status = Connection.objects.filter(pk=connection_id).values_list("status", flat=True).first()
    if status == Status.CONNECTED:
        profile_mark_used(connection_id=connection_id)


def connection_session_ended(*, connection_id: int, outcome: Outcome, owner: str) -> None:
    """Leave the connection in the state that tells the truth once no browser runs."""
    if outcome not in (Outcome.LEASE_LOST, Outcome.DELETED) and not _holds_lease(connection_id, owner):
        outcome = Outcome.LEASE_LOST  # its status and its profile are another session's now
    if outcome == Outcome.LEASE_LOST and not Connection.objects.filter(pk=connection_id).exists():
        outcome = Outcome.DELETED  # the lease went with its row: the connection was deleted
    if outcome == Outcome.DELETED:
        profile_wipe(connection_id=connection_id)
    elif outcome == Outcome.STOP:
        _fenced_transition(connection_id, owner, Status.STOPPED, gettext_noop("Stopped"), qr_code="")
    elif outcome == Outcome.LOGGED_OUT:
        profile_wipe(connection_id=connection_id)
        with lease_fenced(connection_id=connection_id, owner=owner):
            saved_logins_delete(
                connection_id=connection_id
            )  # the phone removed the device: it logs in no more
        _fenced_transition(
            connection_id,
            owner,
            Status.LOGGED_OUT,
            gettext_noop("The phone logged this device out; start it to scan a new QR code"),
            enabled=False,
            qr_code="",
        )
    elif outcome == Outcome.WORKER_STOPPING:
        _fenced_transition(
            connection_id,
            owner,
            Status.DISCONNECTED,
            gettext_noop("The worker stopped; the session resumes when a worker runs"),
        )
    if outcome != Outcome.LEASE_LOST:
        lease_release(connection_id=connection_id, owner=owner)
    connection = Connection.objects.filter(pk=connection_id).first()
    if (
        outcome not in (Outcome.LEASE_LOST, Outcome.WORKER_STOPPING, Outcome.CRASHED)
        and connection is not None
        and connection.enabled
    ):
        # Started again while this session was ending: its wish found the lease
        # still held, so the session that held it hands over to a new one.
        session_start(connection_id=connection_id)


def _holds_lease(connection_id: int, owner: str) -> bool:
    try:
        lease_fence(connection_id=connection_id, owner=owner)
    except LeaseLost:
        return False
    return True


def _fenced_transition(connection_id: int, owner: str, to: str, text: str, **fields: Any) -> None:
    """``connection_transition`` fenced by the lease; ``text`` is marked with gettext_noop."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is not None:
        with lease_fenced(connection_id=connection_id, owner=owner):
            message = in_helpdesk_language(text)
            connection_transition(connection=connection, to=to, message=message, **fields)


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
        "phone_display": phone_display(connection.phone),
        "status": connection.status,
        "status_label": str(connection.get_status_display()),
        "enabled": connection.enabled,
        "qr_code": connection.qr_code if connection.status == Connection.Status.QR else "",
        "qr_generated_at": connection.qr_generated_at.isoformat() if connection.qr_generated_at else None,
        "last_error": connection.last_error,
        "web_version": connection.web_version,
        "csat_enabled": connection.csat_enabled,
        "csat_question": connection.csat_question,
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
