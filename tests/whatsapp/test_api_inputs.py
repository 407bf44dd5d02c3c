"""Hostile input to the connections API answers 422 naming the field and the reason, never 500."""

import pytest

from tests.api_inputs import (
    DEEP,
    HUGE,
    MAX_ID,
    SURROGATE,
    assert_field_refused,
    assert_path_id_refused,
    assert_too_deep,
)
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "reason"),
    [
        ("POST", "connections", '{"name": {"a": 1}}', "name", "Input should be a valid string"),
        (
            "POST",
            "connections",
            '{"name": "A", "is_default": "yes"}',
            "is_default",
            "Input should be a valid boolean",
        ),
        (
            "PATCH",
            "connections/{id}",
            f'{{"queues": [1, {HUGE}]}}',
            "queues.1",
            f"Input should be less than or equal to {MAX_ID}",
        ),
        ("PATCH", "connections/{id}", '{"queues": [true]}', "queues.0", "Input should be a valid integer"),
        ("PATCH", "connections/{id}", '{"greeting": ["x"]}', "greeting", "Input should be a valid string"),
        ("PUT", "connections/{id}/webhook", '{"url": {"a": 1}}', "url", "Input should be a valid string"),
        (
            "PUT",
            "connections/{id}/webhook",
            '{"url": "", "rotate": "yes"}',
            "rotate",
            "Input should be a valid boolean",
        ),
        (
            "POST",
            "connections/{id}/pairing-code",
            '{"phone": 5511988887777}',
            "phone",
            "Input should be a valid string",
        ),
        (
            "POST",
            "connections/{id}/messages",
            '{"to": "5511988887777", "body": {"a": 1}}',
            "body",
            "Input should be a valid string",
        ),
    ],
)
def test_a_body_field_of_the_wrong_type_is_422_naming_it(api, method, path, body, field, reason):
    connection = ConnectionFactory()

    response = api(method, path.format(id=connection.pk), body)

    assert_field_refused(response, field, reason)


def test_a_connection_id_beyond_64_bits_is_422(api):
    response = api("GET", f"connections/{HUGE}")

    assert_path_id_refused(response)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "connections/{id}", {"name": "Vendas \ud800"}, "name"),
        ("PATCH", "connections/{id}", {"greeting": "Olá \ud800"}, "greeting"),
        ("PATCH", "connections/{id}", {"farewell": "Tchau \ud800"}, "farewell"),
        ("POST", "connections", {"name": "\udfff"}, "name"),
        ("PUT", "connections/{id}/webhook", {"url": "https://example.com/\ud800"}, "url"),
        ("PUT", "connections/{id}/webhook", {"url": "https://example.com/", "secret": "\ud800"}, "secret"),
        (
            "POST",
            "connections/{id}/messages",
            {"to": "5511988887777", "body": "oi \ud800", "queue_if_offline": True},
            "body",
        ),
    ],
)
def test_a_lone_surrogate_in_any_text_is_422_naming_the_field(api, method, path, body, field):
    """json.dumps writes the lone surrogate as the escape "\\ud800", as a client would."""
    connection = ConnectionFactory(name="Suporte")

    response = api(method, path.format(id=connection.pk), body)

    assert_field_refused(response, field, SURROGATE)
    connection.refresh_from_db()
    assert (connection.name, connection.webhook_url) == ("Suporte", "")


def test_json_nested_50000_deep_is_400_wherever_it_is_sent(api):
    assert_too_deep(api("PATCH", f"connections/{ConnectionFactory().pk}", DEEP))
