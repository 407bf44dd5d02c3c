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
from daphne.http_protocol import WebRequest  # noqa: E402

from helpdesk.routing import websocket_urlpatterns  # noqa: E402


def _bodies_left_to_django(init):
    """Twisted, under daphne, parses every multipart body into arguments daphne never reads: a whole
    upload held twice in memory, and a body it cannot parse answered with a bare 400 (no body, no
    Content-Type) before Django sees it, so an API client got no JSON error. Django parses the body
    (within its size limits, helpdesk/uploads.py) and answers every error itself."""

    def __init__(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    return __init__


WebRequest.__init__ = _bodies_left_to_django(WebRequest.__init__)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),  # type: ignore[arg-type]  # see routing.py
    }
)
