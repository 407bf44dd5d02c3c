from django.urls import path

from helpdesk.consumers import DashboardConsumer
from tickets.consumers import InboxConsumer
from whatsapp.consumers import ConnectionsConsumer

# Channels routes ASGI applications through Django's path(), as its documentation does; the stubs
# type path() for Django views only (django-stubs) and URLRouter for the pattern it makes of an ASGI
# application (types-channels), hence the ignores here and in asgi.py.
websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/inbox/", InboxConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/connections/", ConnectionsConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/connections/<int:connection_id>/", ConnectionsConsumer.as_asgi()),  # type: ignore[arg-type]
]
