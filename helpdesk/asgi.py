"""ASGI entry point (daphne): HTTP goes to Django, websockets to the Channels consumers.

Websockets are checked twice before a consumer sees them: the Origin header
must name an allowed host (no cross-site websocket hijacking), and the Django
session cookie identifies the user; each consumer then refuses anonymous users.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_asgi_app = get_asgi_application()

# These imports need Django set up.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from helpdesk.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),  # type: ignore[arg-type]  # see routing.py
    }
)
