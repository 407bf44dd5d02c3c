from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.realtime import DASHBOARD_GROUP
from helpdesk.selectors import dashboard_figures

# Close codes in the 4000 range are ours; 4401 mirrors HTTP 401.
CLOSE_UNAUTHENTICATED = 4401


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Pushes the home page's figures again whenever they may have changed.

    The event carries no figures: each receiver recounts what *it* may see, so
    an agent never learns the size of a queue that is not theirs.
    """

    async def connect(self) -> None:
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def dashboard_changed(self, event: dict) -> None:
        await self.send_json(await database_sync_to_async(dashboard_figures)(user=self.user))
