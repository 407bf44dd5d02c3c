"""Questions to a session when the bus is down answer 503 BUS_UNAVAILABLE; a stopped connection answers at once."""

import socket
import time

from tests.factories import ConnectionFactory
from whatsapp.models import Connection


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
