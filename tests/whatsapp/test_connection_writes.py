"""The JSON API, the connections page and the admin write connections through the services:
a new connection starts its session, a change is a line in its log, each saying who."""

import json

import pytest

from helpdesk.models import ApiToken
from tests.factories import ConnectionFactory, QueueFactory
from whatsapp.lease import QUEUED
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def api_create(client, token, name: str, queue) -> None:
    client.post(
        "/api/connections",
        json.dumps({"name": name, "queues": [queue.pk]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def api_change(client, token, connection, name: str, queue) -> None:
    client.patch(
        f"/api/connections/{connection.pk}",
        json.dumps({"name": name, "queues": [queue.pk]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def page_create(client, _token, name: str, queue) -> None:
    client.post("/connections/new/", {"name": name, "queues": [queue.pk]})


def page_change(client, _token, connection, name: str, queue) -> None:
    client.post(f"/connections/{connection.pk}/settings/", {"name": name, "queues": [queue.pk]})


ADMIN_INLINE = {"events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0}


def admin_create(client, _token, name: str, queue) -> None:
    client.post(
        "/admin/whatsapp/connection/add/",
        {"name": name, "enabled": "on", "queues": [queue.pk], **ADMIN_INLINE},
    )


def admin_change(client, _token, connection, name: str, queue) -> None:
    client.post(
        f"/admin/whatsapp/connection/{connection.pk}/change/",
        {"name": name, "enabled": "on", "queues": [queue.pk], **ADMIN_INLINE},
    )


INTERFACES = {
    "api": (api_create, api_change),
    "page": (page_create, page_change),
    "admin": (admin_create, admin_change),
}


@pytest.fixture
def signed_in(client, staff):
    client.force_login(staff)
    return client, ApiToken.issue(user=staff)[1]


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_connection_made_anywhere_starts_its_session(
    interface, signed_in, staff, django_capture_on_commit_callbacks
):
    create, _change = INTERFACES[interface]
    queue = QueueFactory()

    with django_capture_on_commit_callbacks(execute=True):
        create(*signed_in, "Vendas", queue)

    connection = Connection.objects.get()
    assert (connection.name, list(connection.queues.all()), connection.lease_owner) == (
        "Vendas",
        [queue],
        QUEUED,
    )
    assert connection.events.get().data["by"] == staff.pk


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_change_made_anywhere_is_logged(interface, signed_in, staff):
    _create, change = INTERFACES[interface]
    connection, queue = ConnectionFactory(name="Vendas"), QueueFactory()

    change(*signed_in, connection, "Suporte", queue)

    connection.refresh_from_db()
    assert (connection.name, list(connection.queues.all())) == ("Suporte", [queue])
    line = connection.events.get()
    assert line.data["changed"] == ["name", "queues"] and line.data["by"] == staff.pk


def test_the_api_webhook_setting_is_logged(signed_in, staff):
    client, token = signed_in
    connection = ConnectionFactory()

    response = client.put(
        f"/api/connections/{connection.pk}/webhook",
        json.dumps({"url": "https://hooks.example.com/in", "secret": "s3cret"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 200
    line = connection.events.get()
    assert line.data["changed"] == ["webhook_url", "webhook_secret"] and "s3cret" not in line.message
