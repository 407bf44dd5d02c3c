"""Schemathesis against the live OpenAPI schema, through Django's WSGI app in-process (shared by the test and the bench)."""

from contextlib import contextmanager

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import openapi
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from helpdesk.models import ApiToken
from tests.factories import ConnectionFactory, ContactFactory, MessageFactory, TicketFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    allow_header_conformance,
]


def seed() -> None:
    """A connection, a few contacts and tickets with messages, so the generated ids sometimes hit a row."""
    connection = ConnectionFactory()
    for _ in range(3):
        ticket = TicketFactory(connection=connection, contact=ContactFactory())
        MessageFactory(ticket=ticket)


@contextmanager
def database_kept_open():
    """As Django's test client does: the WSGI handler must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(*, user, examples: int) -> dict:
    """Every operation of the schema, ``examples`` generated requests each, as ``user``'s token.

    Returns {"operations", "examples", "failures": [text]}; a failure is a 5xx, an undocumented status
    or a body that does not match the schema.
    """
    _token, key = ApiToken.issue(user=user)
    figures = {"operations": 0, "examples": 0, "failures": []}
    with database_kept_open():
        schema = openapi.from_wsgi("/api/openapi.json", WSGIHandler())
        for operation in [result.ok() for result in schema.get_all_operations()]:
            _fuzz_operation(operation, key=key, examples=examples, figures=figures)
    return figures


def _fuzz_operation(operation, *, key: str, examples: int, figures: dict) -> None:
    figures["operations"] += 1

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        figures["examples"] += 1
        headers = {"Authorization": f"Bearer {key}"}
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as failure:
            figures["failures"].append(f"{case.method} {case.formatted_path}: {failure}"[:2000])

    call()
