"""Hostile input to the tickets API answers 400/422 naming the field and the reason, never 500."""

import pytest

from tests.api_inputs import HUGE, MAX_ID, assert_field_refused, assert_path_id_refused
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("tickets?queue=²", "queue must be an id."),  # a Unicode digit: isdigit() says yes, int() says no
        ("tickets?connection=x", "connection must be an id."),
        (f"tickets?assignee={HUGE}", "assignee must be an id."),
        ("tickets?cursor=²", "cursor must be the next_cursor of a previous page."),
        (f"tickets?cursor={HUGE}", "cursor must be the next_cursor of a previous page."),
        ("tickets/{ticket}/messages?cursor=²", "cursor must be the next_cursor of a previous page."),
        ("contacts?cursor=²", "cursor must be the next_cursor of a previous page."),
    ],
)
def test_a_query_parameter_that_is_not_an_id_is_400(api, query, reason):
    ticket = TicketFactory()

    response = api("GET", query.format(ticket=ticket.pk))

    assert (response.status_code, response.json()) == (400, {"error_code": "BAD_REQUEST", "message": reason})


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
