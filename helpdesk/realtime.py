"""The realtime bus: events from any process (web or worker) to the browsers.

Events travel over the Channels layer (Redis) to groups; consumers decide who
may join which group. Events are sent only once the transaction that caused
them commits, so a browser never hears of a change that was rolled back. They
are best effort: the database holds the truth, so a bus that is down is logged
and never fails the change (pages show the truth on reload, sessions poll).
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

DASHBOARD_GROUP = "dashboard"
TICKETS_GROUP = "tickets"  # message and ticket changes (the inbox listens here)


def publish_on_commit(*, group: str, event_type: str, payload: dict | None = None) -> None:
    """Send ``{"type": event_type, **payload}`` to ``group`` when the current transaction commits."""
    message = {"type": event_type, **(payload or {})}

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(group, message)

    transaction.on_commit(send, robust=True)


def dashboard_changed() -> None:
    """The figures of the home page changed (a ticket or connection changed state)."""
    publish_on_commit(group=DASHBOARD_GROUP, event_type="dashboard.changed")
