"""Connections: each one's state, for how long, its heartbeat and its worker; the stuck ones flagged,
and each central copy of a login a restore refused (whatsapp/saved_logins.py).

With ``fix``, a flagged connection is restarted through the service behind the
connection page's Restart button (``connection_request``), and the report says so.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.audit.checks import Level, Section, duration
from whatsapp.lease import lease_is_live
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.saved_logins import saved_logins_refused
from whatsapp.selectors import web_version_tested, web_versions_tested
from whatsapp.services import connection_request

Status = Connection.Status


def connections_section(*, fix: bool = False) -> Section:
    section = Section("connections", _("Connections"))
    entered = (
        ConnectionEvent.objects.filter(
            connection=OuterRef("pk"), kind=ConnectionEvent.Kind.STATE, to_status=OuterRef("status")
        )
        .order_by("-at", "-id")
        .values("at")[:1]
    )  # when it entered its present state
    now = timezone.now()
    section.data["connections"] = []
    refused_copies: dict[int, list] = {}
    for refused in saved_logins_refused():
        refused_copies.setdefault(refused.connection_id, []).append(refused)
    for connection in Connection.objects.annotate(entered_at=Subquery(entered)):
        since = connection.entered_at or connection.updated_at
        worker = lease_is_live(connection)
        problems = _problems(connection, in_state=(now - since).total_seconds(), worker=worker, now=now)
        heartbeat = (
            _("%(ago)s ago") % {"ago": duration((now - connection.last_seen_at).total_seconds())}
            if connection.last_seen_at
            else _("never")
        )
        section.evidence.append(
            _(
                "%(name)s: %(status)s for %(since)s; last heartbeat %(heartbeat)s; "
                "worker %(owner)s (%(alive)s)%(error)s"
            )
            % {
                "name": connection.name,
                "status": connection.status,
                "since": duration((now - since).total_seconds()),
                "heartbeat": heartbeat,
                "owner": connection.lease_owner or _("none"),
                "alive": _("alive") if worker else _("not running"),
                "error": (_("; last error: %(error)s") % {"error": connection.last_error})
                if connection.last_error
                else "",
            }
        )
        fixed = False
        for level, text in problems:
            section.flag(level, f"{connection.name}: {text}")
        untested = bool(connection.web_version) and not web_version_tested(connection.web_version)
        if untested:  # not a fault a restart fixes: flagged, never restarted by --fix
            section.flag(
                Level.WARNING,
                _(
                    "%(name)s: runs WhatsApp Web %(version)s, a version the helpdesk has not been "
                    "tested with (tested: %(tested)s)."
                )
                % {
                    "name": connection.name,
                    "version": connection.web_version,
                    "tested": ", ".join(web_versions_tested()),
                },
            )
        for refused in refused_copies.get(connection.pk, []):  # not a fault a restart fixes
            section.flag(
                Level.WARNING,
                _(
                    "%(name)s: the central copy of its login saved %(saved)s was refused %(when)s ago "
                    "(%(reason)s); it is kept aside and never used."
                )
                % {
                    "name": connection.name,
                    "saved": refused.created_at.strftime("%Y-%m-%d %H:%M"),
                    "when": duration((now - (refused.refused_at or now)).total_seconds()),
                    "reason": _(refused.refused),
                },
            )
        if fix and problems:
            connection_request(connection=connection, enabled=True, command=Connection.Command.RESTART)
            section.evidence.append(
                _("%(name)s: restarted (as with the Restart button).") % {"name": connection.name}
            )
            fixed = True
        section.data["connections"].append(
            {
                "id": connection.pk,
                "name": connection.name,
                "status": connection.status,
                "since": since,
                "last_heartbeat": connection.last_seen_at,
                "lease_owner": connection.lease_owner,
                "worker_alive": worker,
                "last_error": connection.last_error,
                "web_version": connection.web_version,
                "web_version_tested": not untested,
                "problems": [text for _level, text in problems],
                "restarted": fixed,
            }
        )
    if not section.data["connections"]:
        section.flag(Level.WARNING, _("No WhatsApp connection is configured."))
    return section


def _problems(connection: Connection, *, in_state: float, worker: bool, now) -> list[tuple[Level, str]]:
    """What is wrong with one connection, with the evidence in words."""
    found = []
    starting_limit = settings.WHATSAPP_LAUNCH_TIMEOUT + settings.WHATSAPP_AUTH_TIMEOUT
    qr_limit = settings.WHATSAPP_AUTH_TIMEOUT * settings.WHATSAPP_QR_MAX_CODES
    heartbeat_limit = timedelta(seconds=2 * settings.WHATSAPP_HEARTBEAT)
    if connection.status == Status.STARTING and in_state > starting_limit:
        found.append(
            (
                Level.WARNING,
                _("STARTING for %(for)s, longer than its timeouts (%(limit)s).")
                % {"for": duration(in_state), "limit": duration(starting_limit)},
            )
        )
    if connection.status == Status.QR and in_state > qr_limit:
        found.append(
            (
                Level.WARNING,
                _("waiting for a QR scan for %(for)s, longer than its timeouts (%(limit)s).")
                % {"for": duration(in_state), "limit": duration(qr_limit)},
            )
        )
    if connection.status == Status.CONNECTED and (
        connection.last_seen_at is None or now - connection.last_seen_at > heartbeat_limit
    ):
        found.append((Level.CRITICAL, _("CONNECTED, but its last heartbeat is older than two heartbeats.")))
    if connection.status == Status.FAILED:
        error = connection.last_error or _("no error recorded")
        found.append((Level.CRITICAL, _("FAILED: %(error)s") % {"error": error}))
    if connection.enabled and not worker:
        found.append(
            (
                Level.CRITICAL,
                _("enabled, but no worker runs it (lease owner: %(owner)s).")
                % {"owner": connection.lease_owner or _("none")},
            )
        )
    return found
