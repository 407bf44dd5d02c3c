"""The API fuzzed against its own OpenAPI schema: no 500, every answer documented and matching its schema."""

import pytest

from tests.factories import StaffFactory, UserFactory
from tests.helpdesk.api_fuzz import fuzz, seed

pytestmark = pytest.mark.django_db


def test_every_operation_answers_as_its_schema_says_to_a_superuser():
    seed()

    figures = fuzz(user=StaffFactory(is_superuser=True), examples=10)

    assert figures["operations"] >= 20 and figures["examples"] > 5 * figures["operations"]
    assert figures["failures"] == []


def test_an_agent_is_refused_as_the_schema_says():
    seed()

    figures = fuzz(user=UserFactory(), examples=3)

    assert figures["examples"] >= figures["operations"] >= 20
    assert figures["failures"] == []
