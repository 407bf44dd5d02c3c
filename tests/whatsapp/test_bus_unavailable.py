"""Questions to a session when the bus is down answer 503 BUS_UNAVAILABLE; a stopped connection answers at once."""

import asyncio
import socket
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from tests.factories import ConnectionFactory
from whatsapp.models import Connection
from whatsapp.session_bus import bus_listen
from whatsapp.views import BUS_UNAVAILABLE_MESSAGE


@pytest.fixture
def channel_layer_warm(restartable_redis):
    """The layer has talked to Redis before it stops: its pooled connections are the stale ones."""
    async_to_sync(get_channel_layer().group_send)("warm-up", {"type": "warm.up"})


def _refusing_layer(settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{port}/0", "socket_timeout": None}]},
        }
    }
    settings.REALTIME_PUBLISH_TIMEOUT = 0.5


def test_a_stopped_connection_snapshot_is_refused_at_once(api, channel_layer):
    connection = ConnectionFactory(status=Connection.Status.STOPPED)
    started = time.monotonic()

    response = api("GET", f"connections/{connection.pk}/snapshot")

    assert (response.status_code, response.json()["error_code"]) == (409, "ACCOUNT_NOT_READY")
    assert time.monotonic() - started < 2


def test_snapshot_and_pairing_code_with_redis_refusing_answer_503(api, settings):
    _refusing_layer(settings)
    connection = ConnectionFactory(status=Connection.Status.QR)

    snapshot = api("GET", f"connections/{connection.pk}/snapshot")
    code = api("POST", f"connections/{connection.pk}/pairing-code", {"phone": "5511988887777"})

    assert (snapshot.status_code, snapshot.json()["error_code"]) == (503, "BUS_UNAVAILABLE")
    assert (code.status_code, code.json()["error_code"]) == (503, "BUS_UNAVAILABLE")


def test_sending_to_a_number_with_redis_refusing_answers_503(api, settings):
    _refusing_layer(settings)
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)

    response = api("POST", f"connections/{connection.pk}/messages", {"to": "5511988887777", "body": "hi"})

    assert (response.status_code, response.json()["error_code"]) == (503, "BUS_UNAVAILABLE")
    assert "Redis" in response.json()["message"]


def _asked_with_the_bus_down(api, staff_client, connection) -> list:
    """Every place the web asks a session through the bus: the API's three and the page's two."""
    return [
        api("GET", f"connections/{connection.pk}/snapshot"),
        api("POST", f"connections/{connection.pk}/pairing-code", {"phone": "5511988887777"}),
        api("POST", f"connections/{connection.pk}/messages", {"to": "5511988887777", "body": "hi"}),
        staff_client.get(reverse("connection-snapshot", args=[connection.pk])),
        staff_client.post(
            reverse("connection-pairing-code", args=[connection.pk]), {"phone": "5511988887777"}, follow=True
        ),
    ]


def _bus_unavailable(answers: list) -> None:
    *api_answers, page_snapshot, page_pairing = answers
    for answer in api_answers:
        assert (answer.status_code, answer.json()["error_code"]) == (503, "BUS_UNAVAILABLE")
        assert "Redis" in answer.json()["message"]
    assert (page_snapshot.status_code, page_snapshot.content.decode()) == (503, str(BUS_UNAVAILABLE_MESSAGE))
    assert str(BUS_UNAVAILABLE_MESSAGE) in page_pairing.content.decode()


def test_with_redis_stopped_the_web_answers_503(api, staff_client, restartable_redis, channel_layer_warm):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    restartable_redis.stop()

    started = time.monotonic()
    _bus_unavailable(_asked_with_the_bus_down(api, staff_client, connection))
    assert time.monotonic() - started < 10


def test_with_redis_silent_the_web_answers_503_within_the_timeout(api, staff_client, settings, silent_redis):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{silent_redis}/0", "socket_timeout": None}]},
        }
    }
    settings.REALTIME_PUBLISH_TIMEOUT = 0.5
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)

    started = time.monotonic()
    _bus_unavailable(_asked_with_the_bus_down(api, staff_client, connection))
    assert time.monotonic() - started < 5 * 0.5 + 5  # five questions, each bounded by the timeout


def test_a_session_back_on_the_bus_after_an_outage_is_told_to_look_at_everything(restartable_redis):
    """Wakes sent while the bus was away are lost, a reply scheduled meanwhile among them: once the
    session listens again it is woken as if its schedule had changed (it reads it only then)."""

    async def run() -> tuple[bool, tuple]:
        events: asyncio.Queue = asyncio.Queue()
        listening = asyncio.create_task(bus_listen(connection_id=1, events=events))
        await asyncio.sleep(0.5)
        quiet_at_first = events.empty()  # a first join has lost nothing
        await asyncio.to_thread(restartable_redis.stop)
        await asyncio.sleep(1)
        await asyncio.to_thread(restartable_redis.start)
        told = await asyncio.wait_for(events.get(), timeout=20)
        listening.cancel()
        return quiet_at_first, told

    quiet_at_first, told = asyncio.run(run())

    assert quiet_at_first
    assert told == ("wake", {"type": "session.wake", "schedule_changed": True})
