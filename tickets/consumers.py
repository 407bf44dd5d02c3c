from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.consumers import CLOSE_UNAUTHENTICATED, refuse
from tickets.realtime import user_ticket_groups

RECENT_EVENTS = 200  # how many events are remembered to drop the copy a second group brings


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """Ticket and message events for one user's inbox, only of tickets they may see.

    The user's groups (tickets/realtime.py) are taken when the socket opens: a
    change of queue membership applies from the next page load. An agent in
    two of a ticket's groups (its queue, and assigned to them) gets each event
    once. Events carry ids; the page reads the rest as a reload would.
    """

    async def connect(self) -> None:
        user = self.scope["user"]
        if not user.is_authenticated:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.joined = await database_sync_to_async(user_ticket_groups)(user=user)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.recent: deque = deque(maxlen=RECENT_EVENTS)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def message_new(self, event: dict) -> None:
        await self._forward(event)

    async def message_status(self, event: dict) -> None:
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
