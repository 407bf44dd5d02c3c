from datetime import datetime

from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.utils import formats, timezone, translation

from helpdesk.consumers import RightsFollowingConsumer
from helpdesk.languages import socket_language
from helpdesk.permissions import has_permission
from whatsapp.models import Connection
from whatsapp.qr import qr_data_url
from whatsapp.services import STAFF_GROUP, connection_group


class ConnectionsConsumer(RightsFollowingConsumer):
    """Live connection changes for those who may see connections: all of them (list page) or one (its page).
    The right (``whatsapp.view_connection``) is checked again while the socket is open (helpdesk/consumers.py).

    Each event carries the connection's state and, for a state change or log
    line, the event; a QR code is sent as a ready-to-show PNG data URL. The status labels and the
    event's time are written here, for this reader: in their language, and the time in TIME_ZONE
    with the format the page itself uses, so live lines match the lines the page was served with.
    """

    async def connect(self) -> None:
        self.language = await database_sync_to_async(socket_language)(self.scope)
        await super().connect()

    def groups_for(self, user: User) -> list[str] | None:
        if not has_permission(user, "whatsapp.view_connection"):
            return None
        connection_id = self.scope["url_route"]["kwargs"].get("connection_id")
        return [connection_group(connection_id) if connection_id else STAFF_GROUP]

    async def connection_changed(self, event: dict) -> None:
        connection, logged = event["connection"], event.get("event")
        with translation.override(self.language):
            connection = {**connection, "status_label": status_label(connection["status"])}
            if logged:
                logged = {
                    **logged,
                    "at_display": log_time(datetime.fromisoformat(logged["at"])),
                    "from_status_label": status_label(logged["from_status"]),
                    "to_status_label": status_label(logged["to_status"]),
                }
        if connection["qr_code"]:
            connection["qr_image"] = qr_data_url(connection["qr_code"])
        await self.send_json({"connection": connection, "event": logged})


def status_label(status: str) -> str:
    """A status as a person reads it, in the active language ("" for none: a log line that is no change)."""
    return str(Connection.Status(status).label) if status else ""


def log_time(at: datetime) -> str:
    """A log line's time as the connection's page shows it (``date:"DATETIME_FORMAT"``): in TIME_ZONE,
    in the active language's format."""
    return formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")
