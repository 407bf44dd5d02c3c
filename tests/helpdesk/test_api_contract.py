"""The API keeps its own contract: schemathesis, with every check it has, against daphne serving it.

Bounded for ``make test`` (about a minute: 15 examples per operation and phase); ``make bench`` runs
the long version (tests/benchmarks/test_api_schema_bench.py).
"""

import pytest

from tests.factories import StaffFactory
from tests.helpdesk.api_fuzz import fuzz, seed


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure_of_any_kind_against_the_live_api(tmp_path, redis_url):
    seed()

    figures = fuzz(user=StaffFactory(is_superuser=True), examples=15, tmp=tmp_path, redis_url=redis_url)

    assert figures["operations"] >= 26 and figures["requests"] > 20 * figures["operations"]
    assert (figures["failures"], figures["errors"]) == ([], []), figures["output"][-30000:]
