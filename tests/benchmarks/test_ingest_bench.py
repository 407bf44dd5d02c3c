"""Ingest throughput (``make bench``): messages per second through the ingest service,
beside the raw single-row INSERT rate of the same database in the same run.

Messages go in as a session stores them: from its event loop, each chat's
batch in a thread of the session's pool (``chat_messages_ingest``), realtime
events sent by the loop's publisher, and, for the "lanes" rows, through the
session's chat lanes (whatsapp/lanes.py), which store chats side by side and
hand a busy chat's waiting messages over as one batch. Run it on PostgreSQL
(DATABASE_URL) for the published figures; the database is printed with each row.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection as db
from django.db import connections

from helpdesk.realtime import Publisher
from tests.benchmarks.test_sessions_bench import report
from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import chat_messages_ingest
from whatsapp.lanes import ChatLanes
from whatsapp.wire import InboundMessage

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer"),
]
COUNT = 2000


def raw_insert_rate() -> float:
    """A plain table, as durable as ours: a temporary one skips the write-ahead log and
    its flush at each commit, which is most of what a single-row INSERT costs."""
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_rows (id integer PRIMARY KEY, body text)")
        started = time.perf_counter()
        for n in range(COUNT):
            cursor.execute(
                "INSERT INTO bench_rows (id, body) VALUES (%s, %s)", [n, "Olá"]
            )  # autocommit: one per row
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_rows")
    return COUNT / elapsed


def ingest_rate(messages: list[InboundMessage], *, lanes: bool) -> tuple[float, float]:
    """(messages per second, SQL statements per message). Without lanes, one message at a
    time, each waiting for the previous one: the cost of a single message."""
    connection = ConnectionFactory()
    workers = settings.WHATSAPP_CHAT_CONCURRENCY
    pool = ThreadPoolExecutor(workers)
    queries, lock = 0, threading.Lock()

    def count(execute, sql, params, many, context):
        nonlocal queries
        with lock:
            queries += 1
        return execute(sql, params, many, context)

    def store(chat: str, batch: list[InboundMessage]) -> None:
        with connections["default"].execute_wrapper(count):
            chat_messages_ingest(connection=connection, chat=chat, messages=batch)

    def failed(chat: str, error: Exception, count: int) -> None:
        raise AssertionError(f"a batch of {chat} failed: {error}")

    async def ingest_all() -> float:
        publisher = Publisher()
        in_pool = sync_to_async(store, thread_sensitive=False, executor=pool)
        started = time.perf_counter()
        if lanes:
            chat_lanes = ChatLanes(in_pool, concurrency=workers, retry_delay=lambda n: 1.0, failed=failed)
            for message in messages:
                chat_lanes.put(message.chat, message)
            await chat_lanes.drain()
        else:
            for message in messages:
                await in_pool(message.chat, [message])
        await publisher.close()  # every event sent, inside the measured time
        return time.perf_counter() - started

    elapsed = async_to_sync(ingest_all)()
    close_connections(pool, workers)
    return len(messages) / elapsed, queries / len(messages)


def close_connections(pool: ThreadPoolExecutor, workers: int) -> None:
    """Close the database connection of each of the pool's threads (the test database is dropped later)."""
    everyone = threading.Barrier(workers)

    def close() -> None:
        everyone.wait(timeout=10)  # holds each thread until all have one of these
        connections.close_all()

    for done in [pool.submit(close) for _ in range(workers)]:
        done.result()
    pool.shutdown()


def seed_and_analyse() -> None:
    """Some history, and statistics of it, as a database that has been running has them
    (autovacuum's ANALYZE): without statistics the planner's guesses change the figures."""
    connection = ConnectionFactory()
    for n in range(200):
        chat_messages_ingest(
            connection=connection, chat=f"55118{n:08d}@c.us", messages=[inbound(n, chat=f"55118{n:08d}@c.us")]
        )
    one_chat = [inbound(n) for n in range(200)]
    chat_messages_ingest(connection=connection, chat=inbound(0).chat, messages=one_chat)
    with db.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_ingest_rate_against_the_raw_insert_rate():
    vendor = db.vendor
    raw = raw_insert_rate()
    report(f"[{vendor}] raw single-row INSERT (autocommit)", f"{raw:.0f} rows/s")
    seed_and_analyse()

    def new_contacts(first: int) -> list[dict]:
        return [inbound(n, chat=f"55119{n:08d}@c.us") for n in range(first, first + COUNT)]

    def one_chat(first: int) -> list[dict]:
        return [inbound(n) for n in range(first, first + COUNT)]

    for label, messages, lanes in [
        ("each message a new contact and ticket, one at a time", new_contacts(1000), False),
        ("messages to one open ticket, one at a time", one_chat(1000), False),
        ("each message a new contact and ticket, through the lanes", new_contacts(1000 + COUNT), True),
        (
            "2,000 messages of one chat waiting at once (a catch-up), through the lanes",
            one_chat(1000 + COUNT),
            True,
        ),
    ]:
        rate, queries = ingest_rate(messages, lanes=lanes)
        report(
            f"[{vendor}] ingest, {label}",
            f"{rate:.0f} msg/s = {rate / raw:.2f} × raw; {queries:.2f} queries/msg",
        )
