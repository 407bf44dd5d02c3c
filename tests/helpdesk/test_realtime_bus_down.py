"""A bus that is down or hangs never holds a commit: the publish is bounded and logged."""

import asyncio
import socket
import threading
import time

import pytest
from channels.layers import get_channel_layer

from helpdesk.realtime import publish_on_commit


def _layer_settings(settings, address: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": address, "socket_timeout": None}], "prefix": "helpdesk"},
        }
    }
    settings.REALTIME_PUBLISH_TIMEOUT = 0.5


@pytest.fixture
def silent_redis():
    """A TCP server that accepts connections and reads forever, never answering."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    async def handle(reader, writer):
        while await reader.read(4096):
            pass

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    ready.wait(5)
    yield holder["port"]
    loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
    thread.join(5)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_a_silent_redis_does_not_hold_the_commit(
    settings, silent_redis, django_capture_on_commit_callbacks, caplog
):
    _layer_settings(settings, f"redis://127.0.0.1:{silent_redis}/0")
    get_channel_layer()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        publish_on_commit(groups=["dashboard"], event_type="dashboard.changed")
    assert time.monotonic() - started < 3
    assert "bus timeout" in caplog.text


@pytest.mark.django_db
def test_a_refused_redis_is_logged_and_the_commit_goes_on(
    settings, django_capture_on_commit_callbacks, caplog
):
    _layer_settings(settings, f"redis://127.0.0.1:{_closed_port()}/0")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        publish_on_commit(groups=["dashboard"], event_type="dashboard.changed")
    assert time.monotonic() - started < 3
    assert "realtime event not sent: dashboard.changed" in caplog.text
