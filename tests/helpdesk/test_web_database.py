"""The web server's database connections: borrowed from a pool, not one left open per request."""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from helpdesk.models import ApiToken
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)
POOL_SIZE = 10  # DATABASE_POOL_SIZE's default


def open_connections() -> int:
    """Connections to this test's database, besides the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_burst_of_requests_holds_the_web_server_to_its_pool_of_connections(web):
    """Under ASGI each request runs in a thread of its own: with persistent connections, each one
    opened a connection of its own and left it open (PostgreSQL refuses clients past its
    max_connections, 100 by default)."""
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    _token, key = ApiToken.issue(user=StaffFactory())
    before = open_connections()

    def tickets(_: int) -> int:
        request = urllib.request.Request(f"{web}/api/tickets", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return len(json.load(response)["results"])

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(tickets, range(200)))

    assert answers == [0] * 200
    assert open_connections() - before <= POOL_SIZE
