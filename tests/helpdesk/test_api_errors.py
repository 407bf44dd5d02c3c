"""Input the fuzzer found answering 500 or undocumented: each is now a 400/422 naming the field and the reason."""

import re
import time

import pytest

from tests.factories import ConnectionFactory, TicketFactory

pytestmark = pytest.mark.django_db

HUGE = "1" + "0" * 21  # beyond 64 bits


def test_bad_query_parameters_are_400(api):
    for query in ["tickets?queue=²", "tickets?cursor=²", f"tickets?connection={HUGE}", "contacts?cursor=x"]:
        response = api("GET", query)
        assert (response.status_code, response.json()["error_code"]) == (400, "BAD_REQUEST"), query


def test_wrong_types_are_422_naming_the_field(api):
    ticket, connection = TicketFactory(), ConnectionFactory()

    cases = {
        ("POST", f"tickets/{ticket.pk}/assign", '{"user": true}'): "user",
        ("POST", f"tickets/{ticket.pk}/transfer", f'{{"queue": {HUGE}}}'): "queue",
        ("POST", "connections", '{"name": {"a": 1}}'): "name",
        ("PATCH", f"connections/{connection.pk}", f'{{"queues": [{HUGE}]}}'): "queues.0",
        ("GET", f"connections/{HUGE}", None): "id",
        ("POST", f"tickets/{ticket.pk}/messages", '{"body": 1}'): "body",
    }
    for (method, path, body), field in cases.items():
        response = api(method, path, body)
        assert response.status_code == 422, path
        assert response.json()["error_code"] == "VALIDATION_ERROR"
        assert list(response.json()["fields"]) == [field], path


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
