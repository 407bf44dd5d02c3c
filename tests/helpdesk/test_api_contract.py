"""The API keeps its own contract: schemathesis, with every check it has, against daphne serving it.

Bounded for ``make test`` (about a minute: 15 examples per operation and phase); ``make bench`` runs
the long version (tests/benchmarks/test_api_schema_bench.py). One test, so daphne starts once.
"""

import json
import urllib.error
import urllib.request

import pytest

from helpdesk.models import ApiToken
from tests.factories import StaffFactory, TicketFactory
from tests.helpdesk.api_fuzz import fuzz, live_api, seed


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure_of_any_kind_against_the_live_api(tmp_path, redis_url):
    seed()
    superuser = StaffFactory(is_superuser=True)

    with live_api(tmp=tmp_path, redis_url=redis_url) as url:
        unparsable = _multipart_daphne_cannot_parse(url, superuser)
        figures = fuzz(url=url, user=superuser, examples=15, tmp=tmp_path)

    # Twisted, under daphne, used to answer this body before Django: a bare 400, no body, no Content-Type.
    assert (unparsable.code, unparsable.headers["Content-Type"]) == (400, "application/json")
    assert json.loads(unparsable.read())["message"] == "Send the file in a part named media."
    assert figures["operations"] >= 26 and figures["requests"] > 20 * figures["operations"]
    assert (figures["failures"], figures["errors"]) == ([], []), figures["output"][-30000:]


def _multipart_daphne_cannot_parse(url: str, user) -> urllib.error.HTTPError:
    _token, key = ApiToken.issue(user=user)
    request = urllib.request.Request(
        f"{url}/api/tickets/{TicketFactory().pk}/messages",
        data=b"--edge--\r\n",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=edge"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    return refused.value
