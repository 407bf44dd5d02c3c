"""The JSON API fuzzed against its own schema at length (``make bench``): 100 examples per operation
and phase, every check, against daphne.

The figure (operations, requests, failures) goes to docs/benchmarks.md; ``make test`` runs the short
version (tests/helpdesk/test_api_contract.py), which is why this one has no smoke run.
"""

import time

import pytest

from tests.benchmarks.results import report
from tests.factories import StaffFactory
from tests.helpdesk.api_fuzz import fuzz, live_api, seed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.full_size_only("tests/helpdesk/test_api_contract.py runs schemathesis live in make test"),
]


def test_the_api_fuzzed_at_length_as_a_superuser(tmp_path, redis_url):
    seed()

    started = time.monotonic()
    with live_api(tmp=tmp_path, redis_url=redis_url) as url:
        figures = fuzz(url=url, user=StaffFactory(is_superuser=True), examples=100, tmp=tmp_path)

    report(
        "schemathesis (all checks) on the live API as a superuser, 100 examples per operation and phase",
        f"{figures['operations']} operations, {figures['requests']} requests, {len(figures['failures'])} failures, "
        f"{len(figures['errors'])} errors in {time.monotonic() - started:.0f} s",
    )
    assert (figures["failures"], figures["errors"]) == ([], []), figures["output"][-30000:]
