"""Ingest throughput (``make bench``): messages per second through ``message_ingest``,
beside the raw single-row INSERT rate of the same database in the same run.

Run it on PostgreSQL (DATABASE_URL) for the published figures; the database
used is printed with each row.
"""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection as db

from tests.benchmarks.test_sessions_bench import report
from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]
COUNT = 2000


def raw_insert_rate() -> float:
    with db.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_rows (id integer PRIMARY KEY, body text)")
        started = time.perf_counter()
        for n in range(COUNT):
            cursor.execute("INSERT INTO bench_rows (id, body) VALUES (%s, %s)", [n, "Olá"])  # autocommit: one per row
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_rows")
    return COUNT / elapsed


def ingest_rate(messages: list[dict]) -> tuple[float, float]:
    """As a session ingests: from its event loop, each message through sync_to_async, so the
    realtime events go out on that loop's Redis connections."""
    connection = ConnectionFactory()
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    async def ingest_all() -> float:
        started = time.perf_counter()
        for message in messages:
            await sync_to_async(message_ingest)(connection=connection, message=message)
        return time.perf_counter() - started

    with db.execute_wrapper(count):
        elapsed = async_to_sync(ingest_all)()
    return len(messages) / elapsed, queries / len(messages)


def test_ingest_rate_against_the_raw_insert_rate():
    vendor = db.vendor
    raw = raw_insert_rate()
    new_rate, new_queries = ingest_rate([inbound(n, chat=f"55119{n:08d}@c.us") for n in range(COUNT)])
    existing_rate, existing_queries = ingest_rate([inbound(COUNT + n) for n in range(COUNT)])

    report(f"[{vendor}] raw single-row INSERT (autocommit)", f"{raw:.0f} rows/s")
    report(f"[{vendor}] ingest, each message a new contact and ticket",
           f"{new_rate:.0f} msg/s = {new_rate / raw:.2f} × raw; {new_queries:.1f} queries/msg")  # fmt: skip
    report(f"[{vendor}] ingest, messages to one existing ticket",
           f"{existing_rate:.0f} msg/s = {existing_rate / raw:.2f} × raw; {existing_queries:.1f} queries/msg")  # fmt: skip
