"""A bus that is down or hangs never holds a commit: the publish is bounded and logged."""

import socket
import time

import pytest
from channels.layers import get_channel_layer

from helpdesk.realtime import publish_on_commit
from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from tickets.models import Message


def _layer_settings(settings, address: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": address, "socket_timeout": None}], "prefix": "helpdesk"},
        }
    }
    settings.REALTIME_PUBLISH_TIMEOUT = 0.5


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


@pytest.mark.django_db
def test_ingest_goes_on_while_redis_is_stopped(restartable_redis, django_capture_on_commit_callbacks, caplog):
    """A Redis that was up (the layer's connections made) and then stopped: the message is stored,
    its events are dropped and logged, and the commit does not wait for the bus."""
    connection = ConnectionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message_ingest(connection=connection, message=inbound(1, body="before"))
    restartable_redis.stop()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        message_ingest(connection=connection, message=inbound(2, body="while Redis is stopped"))

    assert time.monotonic() - started < 3
    assert Message.objects.filter(body="while Redis is stopped").exists()
    assert "realtime event not sent: message.new" in caplog.text


@pytest.mark.django_db
def test_ingest_goes_on_when_redis_never_answers(
    settings, silent_redis, django_capture_on_commit_callbacks, caplog
):
    _layer_settings(settings, f"redis://127.0.0.1:{silent_redis}/0")
    connection = ConnectionFactory()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        message_ingest(connection=connection, message=inbound(1, body="to a silent bus"))

    assert time.monotonic() - started < 3 * settings.REALTIME_PUBLISH_TIMEOUT + 2
    assert Message.objects.filter(body="to a silent bus").exists()
    assert "bus timeout" in caplog.text
