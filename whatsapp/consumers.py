from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, refuse, signed_in_user
from helpdesk.permissions import has_permission
from whatsapp.qr import qr_data_url
from whatsapp.services import STAFF_GROUP, connection_group


class ConnectionsConsumer(AsyncJsonWebsocketConsumer):
    """Live connection changes for those who may see connections: all of them (list page) or one (its page).

    Each event carries the connection's state and, for a state change or log
    line, the event; a QR code is sent as a ready-to-show PNG data URL.
    """

    async def connect(self) -> None:
        user = signed_in_user(self)
        if user is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(has_permission)(user, "whatsapp.view_connection"):
            await refuse(self, CLOSE_FORBIDDEN)
            return
        connection_id = self.scope["url_route"]["kwargs"].get("connection_id")
        self.group = connection_group(connection_id) if connection_id else STAFF_GROUP
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def connection_changed(self, event: dict) -> None:
        message = {"connection": event["connection"], "event": event.get("event")}
        if event["connection"]["qr_code"]:
            message["connection"] = {
                **event["connection"],
                "qr_image": qr_data_url(event["connection"]["qr_code"]),
            }
        await self.send_json(message)
