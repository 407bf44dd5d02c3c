from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import User
from django.utils import translation

from helpdesk.languages import socket_language
from helpdesk.realtime import DASHBOARD_GROUP
from helpdesk.selectors import dashboard_figures

# Close codes in the 4000 range are ours; 4401 and 4403 mirror HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def signed_in_user(consumer: AsyncConsumer) -> User | None:
    """The user signed in on the socket, None for a visitor (AnonymousUser). AuthMiddlewareStack
    puts a lazy proxy in the scope; isinstance looks through it to the user it stands for."""
    user = consumer.scope.get("user")
    return user if isinstance(user, User) else None


async def refuse(consumer, code: int) -> None:
    """Accept, then close with ``code``: a socket closed before accepting reaches the
    browser as a bare 1006, and the page could not tell "sign in again" from a network fault."""
    await consumer.accept()
    await consumer.close(code=code)


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Pushes the home page's figures again whenever they may have changed.

    The event carries no figures: each receiver recounts what *it* may see, so
    an agent never learns the size of a queue that is not theirs.
    """

    async def connect(self) -> None:
        user = signed_in_user(self)
        if user is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.language = await database_sync_to_async(socket_language)(self.scope)
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def dashboard_changed(self, event: dict) -> None:
        await self.send_json(await database_sync_to_async(self.figures)())

    def figures(self) -> dict:
        with translation.override(self.language):  # the status labels, in this reader's language
            return dashboard_figures(user=self.user)
