"""Hostile input to the tickets API answers 400/422 naming the field and the reason, never 500."""

import pytest

from tests.api_inputs import HUGE, MAX_ID, assert_field_refused, assert_path_id_refused
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tickets?queue=²", "queue"),  # a Unicode digit: isdigit() says yes, int() says no
        ("tickets?connection=x", "connection"),
        (f"tickets?assignee={HUGE}", "assignee"),
        ("tickets?cursor=²", "cursor"),
        (f"tickets?cursor={HUGE}", "cursor"),
        ("tickets/{ticket}/messages?cursor=²", "cursor"),
        ("contacts?cursor=²", "cursor"),
    ],
)
def test_a_query_parameter_that_is_not_an_id_is_422_as_the_schema_says(api, client, query, field):
    """The schema types these parameters as ids, so a client (and schemathesis) knows the rule."""
    ticket = TicketFactory()
    path = query.format(ticket=ticket.pk).split("?")[0]

    response = api("GET", query.format(ticket=ticket.pk))

    assert (response.status_code, response.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert list(response.json()["fields"]) == [field]
    parameters = client.get("/api/openapi.json").json()["paths"][
        f"/api/{path}".replace(str(ticket.pk), "{id}")
    ]
    declared = {p["name"]: p["schema"] for p in parameters["get"]["parameters"]}[field]
    assert declared["anyOf"][0] | {"maximum": MAX_ID} == {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def test_the_largest_id_is_looked_up_not_refused(api):
    assert api("GET", f"tickets?assignee={MAX_ID}&cursor={MAX_ID}").json()["results"] == []


@pytest.mark.parametrize(
    ("path", "body", "field", "reason"),
    [
        ("assign", '{"user": true}', "user", "Input should be a valid integer"),  # a boolean is not an id
        ("assign", '{"user": "3"}', "user", "Input should be a valid integer"),
        ("assign", f'{{"user": {HUGE}}}', "user", f"Input should be less than or equal to {MAX_ID}"),
        ("transfer", f'{{"queue": {HUGE}}}', "queue", f"Input should be less than or equal to {MAX_ID}"),
        ("transfer", '{"queue": 0}', "queue", "Input should be greater than or equal to 1"),
        ("messages", '{"body": {"a": 1}}', "body", "Input should be a valid string"),  # an object is not text
        (
            "messages",
            f'{{"body": "x", "quoted": {HUGE}}}',
            "quoted",
            f"Input should be less than or equal to {MAX_ID}",
        ),
        ("messages", '{"body": "x", "internal": "yes"}', "internal", "Input should be a valid boolean"),
        ("close", '{"send_farewell": 1}', "send_farewell", "Input should be a valid boolean"),
    ],
)
def test_a_body_field_of_the_wrong_type_is_422_naming_it(api, path, body, field, reason):
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/{path}", body)

    assert_field_refused(response, field, reason)


def test_an_id_in_the_path_beyond_64_bits_is_422(api):
    response = api("GET", f"tickets/{HUGE}")

    assert_path_id_refused(response)
