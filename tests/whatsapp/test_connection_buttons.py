"""A connection's buttons: each enabled only where its status allows it; Log out looks and asks as a
destructive action does."""

import re

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db
Status = Connection.Status


def _buttons(page: str) -> dict[str, bool]:
    """Each button's label and whether it is enabled."""
    found = re.findall(
        r"<button type=\"submit\"[^>]*?data-allowed=\"[^\"]*\"( disabled)?>([^<]+)</button>", page
    )
    return {label: not disabled for disabled, label in found}


@pytest.mark.parametrize(
    ("status", "enabled"),
    [
        (Status.STOPPED, {"Start": True, "Stop": False, "Restart": False, "Log out": False}),
        (Status.QR, {"Start": False, "Stop": True, "Restart": True, "Log out": False}),
        (Status.CONNECTED, {"Start": False, "Stop": True, "Restart": True, "Log out": True}),
        (Status.DISCONNECTED, {"Start": False, "Stop": True, "Restart": True, "Log out": False}),
        (Status.LOGGED_OUT, {"Start": True, "Stop": False, "Restart": False, "Log out": False}),
        (Status.FAILED, {"Start": True, "Stop": False, "Restart": False, "Log out": False}),
    ],
)
def test_only_what_the_status_allows_is_enabled(staff_client, status, enabled):
    connection = ConnectionFactory(status=status)

    page = staff_client.get(reverse("connection-detail", args=[connection.pk])).content.decode()

    assert _buttons(page) == enabled


def test_log_out_is_red_and_asks_first(staff_client):
    connection = ConnectionFactory(status=Status.CONNECTED)

    page = staff_client.get(reverse("connection-detail", args=[connection.pk])).content.decode()

    assert re.search(
        r'data-confirm="Log the phone out\?[^"]*">.*?<button type="submit" class="danger"', page, re.S
    )


def test_a_refused_action_changes_nothing_and_says_why(staff_client):
    connection = ConnectionFactory(status=Status.STOPPED, enabled=False)

    response = staff_client.post(reverse("connection-action", args=[connection.pk, "logout"]), follow=True)

    connection.refresh_from_db()
    assert (connection.command, connection.enabled) == ("", False)
    assert "Log out is not possible while the connection is Stopped." in response.content.decode()
