import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.db import connection as db

from tests.factories import ConnectionFactory, QueueFactory
from whatsapp.lease import QUEUED
from whatsapp.models import Connection
from whatsapp.services import (
    STAFF_GROUP,
    ConnectionLimitReached,
    connection_create,
    connection_qr_shown,
    connection_update,
    connection_went_offline,
)


@pytest.mark.django_db(transaction=True)
def test_the_connection_limit_holds_under_concurrent_creates(settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 5
    for number in range(4):
        connection_create(name=f"Number {number}")
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def create(name: str) -> None:
        start.wait(timeout=10)
        try:
            connection_create(name=name)
            outcomes.append("created")
        except ConnectionLimitReached as error:
            outcomes.append(f"refused {error.current}/{error.maximum}")
        finally:
            db.close()

    threads = [threading.Thread(target=create, args=(f"Racer {n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created", "refused 5/5", "refused 5/5"]
    assert Connection.objects.count() == 5


@pytest.mark.django_db
def test_the_admin_explains_the_limit_on_the_add_form(staff_client, settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 1
    connection_create(name="Only one")

    response = staff_client.post(
        "/admin/whatsapp/connection/add/",
        {"name": "Second", "enabled": "on", "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0},
    )

    assert response.status_code == 200
    assert "at most 1 WhatsApp connections" in response.content.decode()
    assert Connection.objects.count() == 1


@pytest.mark.django_db
def test_the_connections_page_explains_the_limit_on_its_form(staff_client, settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 1
    connection_create(name="Only one")

    response = staff_client.post("/connections/new/", {"name": "Second"})

    assert response.status_code == 200
    assert "at most 1 WhatsApp connections" in response.content.decode()


@pytest.mark.django_db
def test_a_new_connection_starts_its_session_once_committed(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = connection_create(name="Vendas", by=staff)
        stopped = connection_create(name="Suporte", enabled=False)

    started.refresh_from_db()
    stopped.refresh_from_db()
    assert (started.lease_owner, stopped.lease_owner) == (QUEUED, "")
    created = started.events.get()
    assert (created.message, created.data["by"]) == ("Connection created", staff.pk)


@pytest.mark.django_db
def test_a_settings_change_is_logged_with_who_and_what_and_shown_live(
    staff, channel_layer, django_capture_on_commit_callbacks
):
    connection = ConnectionFactory(name="Vendas", greeting="Olá")
    queue = QueueFactory()
    changes = {"name": "Suporte", "greeting": "Olá", "webhook_secret": "s3cret", "queues": [queue]}

    heard = hear(
        channel_layer,
        STAFF_GROUP,
        lambda: connection_update(connection=connection, changes=changes, by=staff),
        django_capture_on_commit_callbacks,
    )

    stored = Connection.objects.get()
    assert (stored.name, stored.webhook_secret, list(stored.queues.all())) == ("Suporte", "s3cret", [queue])
    line = stored.events.get()
    assert line.data["changed"] == ["name", "webhook_secret", "queues"] and line.data["by"] == staff.pk
    assert "s3cret" not in line.message + str(line.data)  # the log names a secret, never shows it
    assert heard["type"] == "connection.changed" and heard["connection"]["name"] == "Suporte"
    assert heard["event"]["id"] == line.pk


@pytest.mark.django_db
def test_a_change_to_nothing_new_writes_no_log_line(staff):
    connection = ConnectionFactory(name="Vendas", greeting="Olá")

    connection_update(connection=connection, changes={"name": "Vendas", "greeting": "Olá"}, by=staff)

    assert not connection.events.exists()


@pytest.mark.django_db
def test_enabling_a_connection_in_its_settings_starts_its_session(staff, django_capture_on_commit_callbacks):
    connection = ConnectionFactory(enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        connection_update(connection=connection, changes={"enabled": True}, by=staff)

    connection.refresh_from_db()
    assert (connection.enabled, connection.lease_owner) == (True, QUEUED)


def hear(channel_layer, group: str, action, capture_on_commit) -> dict:
    """The first event ``group`` hears once ``action`` commits."""
    channel = async_to_sync(channel_layer.new_channel)()
    async_to_sync(channel_layer.group_add)(group, channel)
    with capture_on_commit(execute=True):
        action()

    async def receive() -> dict:
        return await asyncio.wait_for(channel_layer.receive(channel), timeout=5)

    return async_to_sync(receive)()


# -- what a running session writes --------------------------------------------------------


@pytest.mark.django_db
def test_qr_codes_are_counted_and_the_one_past_the_last_stops_the_connection(settings):
    settings.WHATSAPP_QR_MAX_CODES = 2
    connection = ConnectionFactory(status=Connection.Status.STARTING, enabled=True)

    shown = [connection_qr_shown(connection=connection, code=code) for code in ("2@one", "2@two")]
    connection.refresh_from_db()
    assert shown == [True, True]
    assert (connection.status, connection.qr_code, connection.qr_attempts) == (
        Connection.Status.QR,
        "2@two",
        2,
    )

    assert connection_qr_shown(connection=connection, code="2@three") is False
    connection.refresh_from_db()
    assert (connection.status, connection.enabled, connection.qr_code, connection.last_error) == (
        Connection.Status.STOPPED,
        False,
        "",
        "QR not scanned",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Connection.Status.CONNECTED, Connection.Status.DISCONNECTED),
        (Connection.Status.STARTING, Connection.Status.DISCONNECTED),
        (Connection.Status.QR, Connection.Status.QR),  # a page waiting for a scan is not "disconnected"
    ],
)
def test_going_offline_disconnects_only_a_connection_that_was_up_or_starting(before, after):
    connection = ConnectionFactory(status=before)

    connection_went_offline(connection=connection)

    connection.refresh_from_db()
    assert connection.status == after
