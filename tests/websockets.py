"""Websockets to the helpdesk's ASGI application, in the test's process, as a browser opens them."""

from channels.testing import WebsocketCommunicator
from django.conf import settings

from helpdesk.asgi import application


def websocket(path: str, client=None, origin: str = "http://localhost:8000") -> WebsocketCommunicator:
    """A socket to ``path`` from ``origin``, signed in as the Django test ``client`` when one is given."""
    headers = [(b"origin", origin.encode())]
    if client is not None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)
