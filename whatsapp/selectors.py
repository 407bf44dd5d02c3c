"""Reads of connections."""

from django.db.models import Count, QuerySet

from whatsapp import bridge
from whatsapp.models import Connection


def connection_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status that has at least one connection.

    Labels are plain strings in the active language, ready for a template or JSON.
    """
    counts = dict(Connection.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [
        (status, str(label), counts[status])
        for status, label in Connection.Status.choices
        if status in counts
    ]


def connection_list() -> QuerySet[Connection]:
    return Connection.objects.order_by("name")


_RUNNING = frozenset(
    {
        Connection.Status.STARTING,
        Connection.Status.QR,
        Connection.Status.CONNECTED,
        Connection.Status.DISCONNECTED,
    }
)
# What a connection's buttons may ask in each status: start what does not run, stop or restart what
# runs (or tries to), log out only a phone that is logged in.
ACTION_STATUSES: dict[str, frozenset[str]] = {
    "start": frozenset({Connection.Status.STOPPED, Connection.Status.LOGGED_OUT, Connection.Status.FAILED}),
    "stop": _RUNNING,
    "restart": _RUNNING,
    "logout": frozenset({Connection.Status.CONNECTED}),
}


def connection_action_allowed(*, connection: Connection, action: str) -> bool:
    return connection.status in ACTION_STATUSES[action]


def web_versions_tested() -> list[str]:
    """The WhatsApp Web versions the helpdesk has been tested with (kept with the bridge), sorted."""
    return sorted(bridge.TESTED_WEB_VERSIONS)


def web_version_tested(version: str) -> bool:
    """Whether a session running WhatsApp Web ``version`` runs one the helpdesk has been tested with."""
    return version in bridge.TESTED_WEB_VERSIONS
