"""The webhook secret: required (generated when left blank), never rendered back, shown once, rotated."""

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db
URL = "https://crm.example.com/hook"
KNOWN = "a-secret-the-owner-typed"


def _settings(connection: Connection, **changes) -> dict:
    """The settings form's fields as the page posts them (the secret field comes back empty)."""
    return {"name": connection.name, "webhook_url": connection.webhook_url, "webhook_secret": "", **changes}


def test_a_webhook_saved_without_a_secret_gets_one_shown_once(api):
    connection = ConnectionFactory()

    first = api("PUT", f"connections/{connection.pk}/webhook", {"url": URL}).json()
    again = api("PUT", f"connections/{connection.pk}/webhook", {"url": URL}).json()

    connection.refresh_from_db()
    assert len(first["secret"]) >= 40 and connection.webhook_secret == first["secret"]
    assert (again["secret"], again["secret_set"]) == (None, True)  # kept, and not shown again
    assert api("GET", f"connections/{connection.pk}").json().get("webhook_secret") is None


def test_a_connection_created_with_a_webhook_answers_its_secret_once(api):
    created = api("POST", "connections", {"name": "Vendas", "webhook_url": URL}).json()

    assert created["webhook_secret"] == Connection.objects.get().webhook_secret != ""
    assert api("PATCH", f"connections/{created['id']}", {"greeting": "Oi"}).json()["webhook_secret"] is None
    assert Connection.objects.get().webhook_secret == created["webhook_secret"]


def test_a_typed_secret_is_kept_as_typed_and_rotate_replaces_it(api):
    connection = ConnectionFactory()

    typed = api("PUT", f"connections/{connection.pk}/webhook", {"url": URL, "secret": KNOWN}).json()
    rotated = api("PUT", f"connections/{connection.pk}/webhook", {"url": URL, "rotate": True}).json()

    connection.refresh_from_db()
    assert typed["secret"] is None  # the owner knows it
    assert rotated["secret"] not in (None, KNOWN) and connection.webhook_secret == rotated["secret"]


def test_the_settings_form_never_renders_the_secret(staff_client):
    connection = ConnectionFactory(webhook_url=URL, webhook_secret=KNOWN)

    page = staff_client.get(reverse("connection-detail", args=[connection.pk])).content.decode()
    admin = staff_client.get(
        reverse("admin:whatsapp_connection_change", args=[connection.pk])
    ).content.decode()

    assert 'name="webhook_secret"' in page and 'name="webhook_secret"' in admin
    assert KNOWN not in page and KNOWN not in admin


def test_saving_the_settings_with_the_secret_left_blank_keeps_it(staff_client):
    connection = ConnectionFactory(webhook_url=URL, webhook_secret=KNOWN)

    response = staff_client.post(
        reverse("connection-edit", args=[connection.pk]), _settings(connection, greeting="Oi")
    )

    connection.refresh_from_db()
    assert response.status_code == 302
    assert (connection.greeting, connection.webhook_secret) == ("Oi", KNOWN)


def test_rotating_on_the_page_shows_the_new_secret_once(staff_client):
    connection = ConnectionFactory(webhook_url=URL, webhook_secret=KNOWN)

    shown = staff_client.post(
        reverse("connection-edit", args=[connection.pk]), _settings(connection, rotate_webhook_secret="on")
    )

    connection.refresh_from_db()
    assert connection.webhook_secret != KNOWN
    assert connection.webhook_secret in shown.content.decode() and shown["Cache-Control"] == "no-store"
    page = staff_client.get(reverse("connection-detail", args=[connection.pk])).content.decode()
    assert connection.webhook_secret not in page


def test_a_new_connection_with_a_webhook_shows_its_generated_secret(staff_client):
    shown = staff_client.post(reverse("connection-new"), {"name": "Vendas", "webhook_url": URL})

    assert Connection.objects.get().webhook_secret in shown.content.decode()


def test_rotating_in_the_admin_shows_the_new_secret_once(staff_client):
    connection = ConnectionFactory(webhook_url=URL, webhook_secret=KNOWN)
    change = reverse("admin:whatsapp_connection_change", args=[connection.pk])
    form = {
        "name": connection.name,
        "enabled": "on",
        "webhook_url": URL,
        "webhook_secret": "",
        "rotate_webhook_secret": "on",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }

    shown = staff_client.post(change, form)

    connection.refresh_from_db()
    assert connection.webhook_secret != KNOWN
    assert connection.webhook_secret in shown.content.decode()
    assert change in shown.content.decode()
