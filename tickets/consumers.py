import asyncio
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model

from helpdesk.consumers import CLOSE_UNAUTHENTICATED, refuse, signed_in_user
from tickets.realtime import user_ticket_groups

RECENT_EVENTS = 200  # how many events are remembered to drop the copy a second group brings


def _groups_now(user_id: int) -> list[str] | None:
    """The groups the user's inbox belongs in now; None when the user may no longer sign in."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return None if user is None else user_ticket_groups(user=user)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """Ticket and message events for one user's inbox, only of tickets they may see.

    The user's groups (tickets/realtime.py) are checked again every
    INBOX_RECHECK_SECONDS: a queue joined or left applies to an open page
    without a reload (the page is told to read its list again), and a user
    deactivated meanwhile is closed out. An agent in two of a ticket's groups
    (its queue, and assigned to them) gets each event once. Events carry ids;
    the page reads the rest as a reload would.
    """

    async def connect(self) -> None:
        user = signed_in_user(self)
        if user is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.joined: list[str] = []
        await self._join(await database_sync_to_async(user_ticket_groups)(user=user))
        self.recent: deque = deque(maxlen=RECENT_EVENTS)
        await self.accept()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "recheck"):
            self.recheck.cancel()
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, groups: list[str]) -> None:
        for group in set(self.joined) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(groups) - set(self.joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = groups

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(settings.INBOX_RECHECK_SECONDS)
            groups = await database_sync_to_async(_groups_now)(self.user_id)
            if groups is None:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            if set(groups) != set(self.joined):
                await self._join(groups)
                await self.send_json({"type": "inbox.refresh"})

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
