import asyncio
import json
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import translation

from helpdesk.consumers import CLOSE_UNAUTHENTICATED, refuse, signed_in_user
from helpdesk.languages import socket_language
from tickets.realtime import user_ticket_groups
from tickets.views.ticket import conversation_message_html

RECENT_EVENTS = 200  # how many events are remembered to drop the copy a second group brings


MAX_TICKET_ID = 2**63 - 1  # the column's range: a larger "open" from a page is no ticket


def _user_now(user_id: int) -> User | None:
    """The user as they are now (their permissions read again); None when they may no longer sign in."""
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """Ticket and message events for one user's inbox, only of tickets they may see.

    The user's groups (tickets/realtime.py) are checked again every
    INBOX_RECHECK_SECONDS: a queue joined or left applies to an open page
    without a reload (the page is told to read its list again), and a user
    deactivated meanwhile is closed out. An agent in two of a ticket's groups
    (its queue, and assigned to them) gets each event once. Events carry ids;
    the page reads the rest as a reload would, except for the ticket it has
    open: the page says which (``{"open": id}``), and that ticket's message
    events come with the message's HTML, rendered here for this user in their
    language, so a burst of messages costs the page no request per round trip.
    """

    async def connect(self) -> None:
        user = signed_in_user(self)
        if user is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.language = await database_sync_to_async(socket_language)(self.scope)
        self.open_ticket: int | None = None
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
            user = await database_sync_to_async(_user_now)(self.user.pk)
            if user is None:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            self.user = user
            groups = await database_sync_to_async(user_ticket_groups)(user=user)
            if set(groups) != set(self.joined):
                await self._join(groups)
                await self.send_json({"type": "inbox.refresh"})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """The page names the ticket it shows: ``{"open": <id>}``, or ``{"open": null}`` for none.
        Anything else (not JSON, another shape, an id out of range) means no ticket open: the
        page then reads its messages by request, as before it said."""
        try:
            said = json.loads(text_data or "")
        except ValueError:
            said = None
        opened = said.get("open") if isinstance(said, dict) else None
        valid = type(opened) is int and 0 < opened <= MAX_TICKET_ID
        self.open_ticket = opened if valid else None

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
        if "message" in event and event.get("ticket") == self.open_ticket:
            html = await database_sync_to_async(self._message_html)(event["ticket"], event["message"])
            if html is not None:
                event = {**event, "html": html}
        await self.send_json(event)

    def _message_html(self, ticket_pk: int, message_pk: int) -> str | None:
        """The message as the open ticket shows it, if this user may still see that ticket."""
        with translation.override(self.language):
            return conversation_message_html(user=self.user, ticket_pk=ticket_pk, message_pk=message_pk)
