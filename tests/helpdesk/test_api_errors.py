"""The API's error answers common to every app (the inputs of each app: tests/<app>/test_api_inputs.py)."""

import re
import time

import pytest

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tickets.models import Ticket
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def test_a_body_that_is_not_json_is_400(api):
    ticket = TicketFactory()

    for path in [f"tickets/{ticket.pk}/close", f"tickets/{ticket.pk}/messages"]:
        response = api("POST", path, "{nope")
        assert (response.status_code, response.json()["error_code"]) == (400, "BAD_REQUEST")


@pytest.mark.parametrize("body", ["[null, null]", "null", "3", '"text"'])
def test_a_body_that_is_not_a_json_object_is_400_and_changes_nothing(api, body):
    """ninja read a list as an object with no fields given: a close or an assignment with defaults."""
    ticket = TicketFactory(status=Ticket.Status.OPEN)
    before = (ticket.status, ticket.assignee_id)

    for path in [
        f"tickets/{ticket.pk}/close",
        f"tickets/{ticket.pk}/assign",
        f"tickets/{ticket.pk}/messages",
    ]:
        response = api("POST", path, body)
        assert (response.status_code, response.json()["error_code"]) == (400, "BAD_REQUEST"), path

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == before


def test_an_id_written_3_0_is_the_id_3(api):
    """JSON Schema's integer includes 3.0, and the schema says integer."""
    ticket, queue = TicketFactory(), QueueFactory()

    response = api("POST", f"tickets/{ticket.pk}/transfer", f'{{"queue": {queue.pk}.0}}')

    assert (response.status_code, response.json()["queue"]) == (200, queue.pk)


def test_a_wrong_method_names_the_right_ones(api):
    response = api("DELETE", "tickets")

    assert (response.status_code, response.json()["error_code"]) == (405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET"


@pytest.mark.parametrize(
    "path", ["connections/null,null", "connections/1/nowhere", "nowhere", "tickets/9999999999999999999999/x"]
)
def test_a_path_no_call_takes_is_a_json_404(api, path):
    response = api("GET", path)

    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["error_code"] == "NOT_FOUND"


def test_a_server_error_under_the_api_is_json(api, client, monkeypatch):
    def failing(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tickets.api.tickets_visible_to", failing)
    client.raise_request_exception = False

    response = api("GET", "tickets")

    assert (response.status_code, response["Content-Type"]) == (500, "application/json")
    assert response.json()["error_code"] == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    "status",
    [
        Connection.Status.STOPPED,
        Connection.Status.STARTING,
        Connection.Status.LOGGED_OUT,
        Connection.Status.FAILED,
    ],
)
def test_a_snapshot_of_a_session_not_ready_is_409_at_once(api, status):
    connection = ConnectionFactory(status=status, enabled=True)  # STARTING: no page to photograph yet

    started = time.monotonic()
    response = api("GET", f"connections/{connection.pk}/snapshot")

    assert (response.status_code, response.json()["error_code"]) == (409, "ACCOUNT_NOT_READY")
    assert time.monotonic() - started < 0.5


def test_a_snapshot_that_no_session_answers_is_409_within_2_s(api, channel_layer):
    connection = ConnectionFactory(status=Connection.Status.QR, enabled=True)  # its worker is away

    started = time.monotonic()
    response = api("GET", f"connections/{connection.pk}/snapshot")

    assert (response.status_code, response.json()["error_code"]) == (409, "ACCOUNT_NOT_READY")
    assert time.monotonic() - started < 2


def test_the_docs_page_loads_nothing_from_another_host(staff_client):
    html = staff_client.get("/api/docs/").content.decode()

    assert "swagger-ui-bundle.js" in html and "/api/openapi.json" in html
    assert [
        url for url in re.findall(r'(?:src|href)="([^"]*)"', html) if url.startswith(("http", "//"))
    ] == []
