from collections import deque

from django.contrib.auth.models import User

from helpdesk.consumers import RightsFollowingConsumer
from tickets.realtime import user_ticket_groups

RECENT_EVENTS = 200  # how many events are remembered to drop the copy a second group brings


class InboxConsumer(RightsFollowingConsumer):
    """Ticket and message events for one user's inbox, only of tickets they may see.

    The groups are the user's (tickets/realtime.py), followed while the socket is open
    (helpdesk/consumers.py): a queue joined or left applies to an open page without a reload
    (the page is told to read its list again), and a user signed out or deactivated meanwhile
    is closed out. An agent in two of a ticket's groups (its queue, and assigned to them) gets
    each event once. Events carry ids; the page reads the rest as a reload would.
    """

    async def connect(self) -> None:
        self.recent: deque = deque(maxlen=RECENT_EVENTS)
        await super().connect()

    def groups_for(self, user: User) -> list[str]:
        return user_ticket_groups(user=user)

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
