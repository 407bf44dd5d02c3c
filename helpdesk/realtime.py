"""The realtime bus: events from any process (web or worker) to the browsers.

Events travel over the Channels layer (Redis) to groups; consumers decide who
may join which group. Events are sent only once the transaction that caused
them commits, so a browser never hears of a change that was rolled back. They
are best effort: the database holds the truth, so a bus that is down is logged
and never fails the change (pages show the truth on reload, sessions poll).

A process with its own event loop (a session) runs a ``Publisher`` on it: a
commit then only hands its events to the loop, in order, and the database
thread goes on with the next message instead of waiting for Redis.
"""

import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

logger = logging.getLogger(__name__)
DASHBOARD_GROUP = "dashboard"


def channel_layer() -> BaseChannelLayer:
    """The bus settings.CHANNEL_LAYERS names. Channels answers None only when no layer is
    configured: said here as the misconfiguration it is, not as an AttributeError on None later."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer


async def _send(groups: list[str], message: dict) -> None:
    """Send to each group, bounded by REALTIME_PUBLISH_TIMEOUT: a Redis that accepts the
    connection and never answers must not hold a commit (the layer itself has no socket
    timeout, its blocking reads need none). On timeout or error the event is dropped and logged."""
    try:
        layer = channel_layer()
        async with asyncio.timeout(settings.REALTIME_PUBLISH_TIMEOUT):
            for group in groups:
                await layer.group_send(group, message)
    except TimeoutError:
        logger.warning("realtime event not sent (bus timeout): %s", message.get("type"))
    except Exception:
        logger.exception("realtime event not sent: %s", message.get("type"))


async def _send_all(events: list[tuple[list[str], dict]]) -> None:
    """Send ``events`` (groups, message) in their order within each group, and the groups side by
    side. Each send costs a few round trips to Redis and a message's event goes to three groups
    (everyone's, the ticket's queue, its agent): one after another, a session's busy loop could
    not keep up with 50 messages a second. A browser in two of the groups gets one copy (the
    inbox's socket drops the second) and reads what an event names, in whatever order they come."""
    by_group: dict[str, list[dict]] = {}
    for groups, message in events:
        for group in groups:
            by_group.setdefault(group, []).append(message)

    async def in_order(group: str, messages: list[dict]) -> None:
        for message in messages:
            await _send([group], message)

    await asyncio.gather(*(in_order(group, messages) for group, messages in by_group.items()))


class Publisher:
    """Sends the events of this process from one task on its event loop: what has been committed
    meanwhile together, in commit order within each group (``_send_all``)."""

    current: "Publisher | None" = None

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task = self.loop.create_task(self._run())
        Publisher.current = self

    def put(self, groups: list[str], message: dict) -> None:
        """Called from any thread."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (groups, message))

    async def close(self, timeout: float = 10) -> None:
        """Send what is still queued (for at most ``timeout`` seconds: a bus that hangs
        must not hold the session's end), then stop."""
        Publisher.current = None
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            logger.warning("realtime events not sent at shutdown: %d", self.queue.qsize())
        self.task.cancel()

    async def _run(self) -> None:
        while True:
            events = [await self.queue.get()]
            while not self.queue.empty():
                events.append(self.queue.get_nowait())
            try:
                await _send_all(events)
            finally:
                for _event in events:
                    self.queue.task_done()


def publish_on_commit(*, groups: list[str], event_type: str, payload: dict | None = None) -> None:
    """Send ``{"type": event_type, **payload}`` to each of ``groups`` when the current transaction commits."""
    publish_many_on_commit([(groups, event_type, payload or {})])


def dashboard_changed() -> None:
    """The figures of the home page changed (a ticket or connection changed state)."""
    publish_on_commit(groups=[DASHBOARD_GROUP], event_type="dashboard.changed")


def publish_many_on_commit(events: list[tuple[list[str], str, dict]]) -> None:
    """Send many events (groups, type, payload) when the transaction commits, in one callback: a bulk
    change announces itself once per batch instead of registering a callback per row."""
    messages = [(groups, {"type": event_type, **payload}) for groups, event_type, payload in events]

    def send() -> None:
        publisher = Publisher.current
        if publisher is not None and not publisher.loop.is_closed():
            for groups, message in messages:
                publisher.put(groups, message)
        elif _loop_running():  # someone else's loop (a test driving a browser): not to be blocked on
            sender = threading.Thread(target=async_to_sync(_send_all), args=(messages,), name="realtime-send")
            sender.start()
            sender.join()
        else:
            async_to_sync(_send_all)(messages)

    transaction.on_commit(send, robust=True)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# -- orders to a connection's running session ------------------------------------------
# The helpdesk's side of the bus to the WhatsApp provider: tickets/ asks through these
# and never imports the session engine. The durable order is in the database (a queued
# message); these only make the session look now instead of at its next heartbeat.


def session_group(connection_id: int) -> str:
    """The bus group a connection's running session listens on (wake-ups, requests)."""
    return f"session-{connection_id}"


def session_wake(*, connection_id: int, schedule_changed: bool = False) -> None:
    """Tell a running session to look at its connection now, once this transaction commits.
    ``schedule_changed``: a reply was scheduled or its time moved; the session reads its scheduled
    replies again (otherwise only when the next one it knows of comes due)."""
    publish_on_commit(
        groups=[session_group(connection_id)],
        event_type="session.wake",
        payload={"schedule_changed": True} if schedule_changed else None,
    )


def session_mark_read(*, connection_id: int, chat: str) -> None:
    """Ask the running session to mark ``chat`` read on the phone, once this transaction commits.

    Best effort, unlike sending: a lost request leaves a chat unread on the phone, nothing more.
    """
    publish_on_commit(
        groups=[session_group(connection_id)],
        event_type="session.request",
        payload={"action": "mark_read", "chat": chat},
    )
