from django.urls import path

from helpdesk.consumers import DashboardConsumer
from tickets.consumers import InboxConsumer
from whatsapp.consumers import ConnectionsConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
    path("ws/inbox/", InboxConsumer.as_asgi()),
    path("ws/connections/", ConnectionsConsumer.as_asgi()),
    path("ws/connections/<int:connection_id>/", ConnectionsConsumer.as_asgi()),
]
