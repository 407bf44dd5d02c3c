"""The API's error answers common to every app (the inputs of each app: tests/<app>/test_api_inputs.py)."""

import re
import time

import pytest

from tests.factories import ConnectionFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_a_body_that_is_not_json_is_400(api):
    ticket = TicketFactory()

    for path in [f"tickets/{ticket.pk}/close", f"tickets/{ticket.pk}/messages"]:
        response = api("POST", path, "{nope")
        assert (response.status_code, response.json()["error_code"]) == (400, "BAD_REQUEST")


def test_a_wrong_method_names_the_right_ones(api):
    response = api("DELETE", "tickets")

    assert (response.status_code, response.json()["error_code"]) == (405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET"


def test_a_stopped_connection_refuses_a_snapshot_at_once(api):
    connection = ConnectionFactory()  # STOPPED: no session to ask

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
