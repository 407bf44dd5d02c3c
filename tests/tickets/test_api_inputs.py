"""Hostile input to the tickets API answers 400/422 naming the field and the reason, never 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_inputs import (
    DEEP,
    HUGE,
    MAX_ID,
    NUL,
    SURROGATE,
    assert_field_refused,
    assert_path_id_refused,
    assert_too_deep,
)
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


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"body": "oi \\ud800"}', "body", SURROGATE),  # valid JSON, but no UTF-8 encodes it: 500 on save
        ('{"body": "oi \\ud800", "internal": true}', "body", SURROGATE),  # a note
        ('{"body": "oi \\u0000"}', "body", NUL),  # PostgreSQL's text holds no NUL
        ('{"body": "oi", "\\udfff": 1}', "body", SURROGATE),  # a key is text too
    ],
)
def test_a_reply_or_note_with_text_no_store_keeps_is_422_naming_the_field(api, body, field, reason):
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", body)

    assert_field_refused(response, field, reason)
    assert not ticket.messages.exists()


def test_a_caption_with_a_nul_is_422_naming_it(api):
    ticket = TicketFactory()
    photo = SimpleUploadedFile("foto.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 100, content_type="image/jpeg")

    response = api("POST", f"tickets/{ticket.pk}/messages", {"media": photo, "body": "a\0b"}, multipart=True)

    assert_field_refused(response, "body", NUL)


def test_json_nested_50000_deep_is_400_not_a_recursion_error(api):
    assert_too_deep(api("POST", f"tickets/{TicketFactory().pk}/messages", DEEP))


@pytest.mark.parametrize(
    ("query", "field"),
    [("tickets?search=a%00", "search"), ("tickets?status=%00", "status"), ("contacts?search=%00", "search")],
)
def test_a_query_parameter_with_a_nul_is_422_naming_it(api, query, field):
    TicketFactory()

    assert_field_refused(api("GET", query), field, NUL)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.tuples(
        st.text(max_size=8), st.sampled_from(["", "\0", "\ud800", "\udfff"]), st.text(max_size=8)
    ).map("".join)
)
def test_any_text_is_stored_as_sent_or_refused_naming_the_body(api, body):
    """Any text, often with a NUL or a lone surrogate in it."""
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", {"body": body, "internal": True})

    if "\0" in body or any(0xD800 <= ord(ch) <= 0xDFFF for ch in body):
        assert (response.status_code, list(response.json()["fields"])) == (422, ["body"])
    elif body.strip():
        assert ticket.messages.get(pk=response.json()["id"]).body == body
    else:  # empty breaks the schema's minLength (422); only spaces, the rule that a reply says something
        assert response.status_code == (422 if body == "" else 400)
