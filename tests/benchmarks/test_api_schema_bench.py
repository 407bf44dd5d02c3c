"""The JSON API fuzzed against its own schema at length (``make bench``): 100 examples per operation.

The figure (operations, examples, failures) goes to docs/benchmarks.md; ``make test`` runs the short
version (tests/helpdesk/test_api_schema.py), and this one's smoke run (tests/benchmarks/conftest.py)
with one example per operation.
"""

import time

import pytest

from tests.benchmarks.results import report
from tests.factories import StaffFactory
from tests.helpdesk.api_fuzz import fuzz, seed

pytestmark = pytest.mark.django_db


def test_the_api_fuzzed_at_length_as_a_superuser(scale):
    seed()
    examples = scale.pick(100, smoke=1)

    started = time.monotonic()
    figures = fuzz(user=StaffFactory(is_superuser=True), examples=examples)

    report(
        f"schemathesis on the API as a superuser, {examples} examples per operation",
        f"{figures['operations']} operations, {figures['examples']} examples, {len(figures['failures'])} failures "
        f"in {time.monotonic() - started:.0f} s",
    )
    assert figures["failures"] == [], figures["failures"][:3]
