import time
from collections import deque

from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from helpdesk.consumers import RightsFollowingConsumer
from helpdesk.presence import (
    SOCKET_REFRESH_SECONDS,
    Presence,
    activity_record,
    became_online,
    presence_group,
    socket_close,
    socket_open,
    socket_seen,
)
from tickets.assignment import backlog_assign
from tickets.realtime import user_ticket_groups

RECENT_EVENTS = 200  # how many events are remembered to drop the copy a second group brings


class InboxConsumer(RightsFollowingConsumer):
    """Ticket and message events for one user's inbox, only of tickets they may see.

    The groups are the user's (tickets/realtime.py), followed while the socket is open
    (helpdesk/consumers.py): a queue joined or left applies to an open page without a reload
    (the page is told to read its list again), and a user signed out or deactivated meanwhile
    is closed out. An agent in two of a ticket's groups (its queue, and assigned to them) gets
    each event once. Events carry ids; the page reads the rest as a reload would.

    The open page is the agent's presence (helpdesk/presence.py): its row is made before the socket
    is accepted, kept fresh every SOCKET_REFRESH_SECONDS (on the rights' recheck tick) and removed
    when it closes; the page reports the agent's activity (``{"type": "activity"}``). Coming online
    gives the agent the waiting tickets of their queues that assign by themselves.
    """

    presence: Presence | None = None
    seen = 0.0

    async def connect(self) -> None:
        self.recent: deque = deque(maxlen=RECENT_EVENTS)
        await super().connect()

    def groups_for(self, user: User) -> list[str]:
        return [*user_ticket_groups(user=user), presence_group(user.pk)]

    async def opened(self) -> None:
        self.seen = time.monotonic()
        await self._presence(socket_open, channel_name=self.channel_name)

    async def ticked(self) -> None:
        if time.monotonic() - self.seen >= SOCKET_REFRESH_SECONDS:
            self.seen = time.monotonic()
            await self._presence(socket_seen, channel_name=self.channel_name, known=self.presence)

    async def closed(self) -> None:
        await self._presence(socket_close, channel_name=self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "activity":
            await self._presence(activity_record)

    async def presence_changed(self, event: dict) -> None:
        """This user's presence changed (here, in another tab, by time): the header follows."""
        await self.send_json(event)

    async def _presence(self, write, **kwargs) -> None:
        await database_sync_to_async(self._presence_write)(write, **kwargs)

    def _presence_write(self, write, **kwargs) -> None:
        change = write(user=self.user, **kwargs)
        if change is not None:
            self.presence = change[1]
        if became_online(change):
            backlog_assign(user=self.user)

    async def regrouped(self) -> None:
        await self.send_json({"type": "inbox.refresh"})

    async def message_new(self, event: dict) -> None:
        await self._forward(event)

    async def message_status(self, event: dict) -> None:
        await self._forward(event)

    async def message_changed(self, event: dict) -> None:
        """A message was edited, deleted or reacted to: the open ticket redraws that bubble."""
        await self._forward(event)

    async def ticket_changed(self, event: dict) -> None:
        await self._forward(event)

    async def tickets_closed(self, event: dict) -> None:
        """Many tickets closed at once (the audit): one event per group, listing the ids."""
        await self._forward({**event, "tickets": tuple(event["tickets"])})

    async def _forward(self, event: dict) -> None:
        key = tuple(sorted(event.items()))
        if key in self.recent:
            return
        self.recent.append(key)
        await self.send_json(event)
