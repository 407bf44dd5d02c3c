"""Ingest throughput (``make bench``): messages per second through the ingest service,
each beside the raw INSERT rate of the same shape, on the same database in the same run.

Like with like: a message stored alone (its own transaction, one after another) is
compared with single-row INSERTs committed one by one; new chats through the lanes
(a transaction each, ``WHATSAPP_CHAT_CONCURRENCY`` at a time) with single-row INSERTs
committed from as many connections at once; a catch-up (one chat's messages as one
batch) with the same rows in one INSERT and one transaction. Each figure is the median
of ``BENCH_SAMPLES`` runs after a warm-up run, with its range, and every run checks
that every message was stored.

Messages go in as a session stores them: from its event loop, each chat's
batch in a thread of the session's pool (``chat_messages_ingest``), realtime
events sent by the loop's publisher, and, for the "lanes" rows, through the
session's chat lanes (whatsapp/lanes.py), which store chats side by side and
hand a busy chat's waiting messages over as one batch. Run it on PostgreSQL
(DATABASE_URL) for the published figures; the database is printed with each row. The smoke run
(tests/benchmarks/conftest.py): 10 messages a run, one run after the warm-up.
"""

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection as db
from django.db import connections, transaction
from django.db.models import Q

from helpdesk.realtime import Publisher
from tests.benchmarks.results import report
from tests.factories import ConnectionFactory, QueueFactory
from tests.tickets.test_inbound import CUSTOMER, inbound
from tickets import inbound as tickets_inbound
from tickets.inbound import chat_messages_ingest
from tickets.models import Message
from whatsapp.lanes import ChatLanes
from whatsapp.models import Connection
from whatsapp.wire import InboundMessage, Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]
COUNT = 2000
IDENTITY_COUNT = 500  # messages a run of the identity lookup's comparison (three variants, interleaved)
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "3"))
HISTORY = 200  # chats stored before, and messages of one chat


def raw_rate(shape: str, first: int, count: int) -> float:
    """``count`` rows per second into a plain table (``bench_rows``), in the shape of an ingest figure.

    A plain table, as durable as ours: a temporary one skips the write-ahead log and its
    flush at each commit, which is most of what a single-row INSERT costs. Shapes:
    "single" (one INSERT and its commit per row, one after another), "parallel" (the
    same from ``WHATSAPP_CHAT_CONCURRENCY`` connections at once), "batch" (every row in
    one INSERT and one transaction).
    """
    ids = list(range(first, first + count))

    def insert_one_by_one(chunk: list[int]) -> None:
        with connections["default"].cursor() as cursor:
            for n in chunk:  # autocommit: one commit per row
                cursor.execute("INSERT INTO bench_rows (id, body) VALUES (%s, %s)", [n, "Olá"])

    started = time.perf_counter()
    if shape == "single":
        insert_one_by_one(ids)
    elif shape == "parallel":
        workers = settings.WHATSAPP_CHAT_CONCURRENCY
        pool = ThreadPoolExecutor(workers)
        for done in [pool.submit(insert_one_by_one, ids[n::workers]) for n in range(workers)]:
            done.result()
        elapsed = time.perf_counter() - started
        close_connections(pool, workers)
        return count / elapsed
    else:
        with transaction.atomic(), db.cursor() as cursor:  # the ids as a series: SQL of SQLite and PostgreSQL
            cursor.execute(
                "WITH RECURSIVE ids(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM ids WHERE n < %s) "
                "INSERT INTO bench_rows (id, body) SELECT n, 'Olá' FROM ids",
                [ids[0], ids[-1]],
            )
    return count / (time.perf_counter() - started)


def ingest_rate(
    messages: list[InboundMessage], *, lanes: bool, connection: Connection | None = None
) -> tuple[float, float]:
    """(messages per second, SQL statements per message). Without lanes, one message at a
    time, each waiting for the previous one: the cost of a single message. Fails unless
    every message was stored. ``connection``: a new one without queues unless given."""
    connection = connection or ConnectionFactory()
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

    elapsed = seconds_to_store(store, messages, pool=pool, workers=workers, lanes=lanes)
    close_connections(pool, workers)
    stored = Message.objects.filter(connection=connection).count()
    assert stored == len(messages), f"{stored} of {len(messages)} messages stored"
    return len(messages) / elapsed, queries / len(messages)


def seconds_to_store(
    store, messages: list[InboundMessage], *, pool: ThreadPoolExecutor, workers: int, lanes: bool
) -> float:
    """How long ``store(chat, batch)``, in the threads of ``pool``, takes over ``messages``: through
    the chat lanes as a session stores them, or one message at a time (each waiting for the
    previous one); their realtime events sent inside the time. A batch that fails fails the run."""

    def failed(chat: str, error: Exception, count: int) -> None:
        raise AssertionError(f"a batch of {chat} failed: {error}")

    async def store_all() -> float:
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

    return async_to_sync(store_all)()


def close_connections(pool: ThreadPoolExecutor, workers: int) -> None:
    """Close the database connection of each of the pool's threads (the test database is dropped later)."""
    everyone = threading.Barrier(workers)

    def close() -> None:
        everyone.wait(timeout=10)  # holds each thread until all have one of these
        connections.close_all()

    for done in [pool.submit(close) for _ in range(workers)]:
        done.result()
    pool.shutdown()


def seed_and_analyse(history: int) -> None:
    """Some history, and statistics of it, as a database that has been running has them
    (autovacuum's ANALYZE): without statistics the planner's guesses change the figures."""
    connection = ConnectionFactory()
    for n in range(history):
        chat_messages_ingest(
            connection=connection, chat=f"55118{n:08d}@c.us", messages=[inbound(n, chat=f"55118{n:08d}@c.us")]
        )
    one_chat = [inbound(n) for n in range(history)]
    chat_messages_ingest(connection=connection, chat=inbound(0).chat, messages=one_chat)
    with db.cursor() as cursor:
        cursor.execute("ANALYZE")


def spread(rates: list[float]) -> str:
    return f"{statistics.median(rates):.0f} /s (min {min(rates):.0f}, max {max(rates):.0f}, n={len(rates)})"


def test_ingest_rate_against_the_raw_insert_rate_of_the_same_shape(scale):
    vendor = db.vendor
    count, samples = scale.pick((COUNT, SAMPLES), smoke=(10, 1))
    seed_and_analyse(scale.pick(HISTORY, smoke=5))
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_rows (id integer PRIMARY KEY, body text)")
    raw = {}
    for shape, label in [
        ("single", "single-row INSERTs, a commit each, one after another"),
        (
            "parallel",
            f"single-row INSERTs, a commit each, {settings.WHATSAPP_CHAT_CONCURRENCY} connections at once",
        ),
        ("batch", f"{count:,} rows in one INSERT, one transaction"),
    ]:
        rates = [raw_rate(shape, (run + 10 * len(raw)) * count, count) for run in range(samples + 1)][1:]
        raw[shape] = statistics.median(rates)
        report(f"[{vendor}] raw: {label}", spread(rates))
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE bench_rows")

    def new_contacts(first: int) -> list[InboundMessage]:
        return [inbound(n, chat=f"55119{n:08d}@c.us") for n in range(first, first + count)]

    def one_chat(first: int) -> list[InboundMessage]:
        return [inbound(n) for n in range(first, first + count)]

    first = 1000
    for label, messages_from, lanes, shape in [
        ("each message a new contact and ticket, one at a time", new_contacts, False, "single"),
        ("messages to one open ticket, one at a time", one_chat, False, "single"),
        ("each message a new contact and ticket, through the lanes", new_contacts, True, "parallel"),
        (
            f"{count:,} messages of one chat waiting at once (a catch-up), through the lanes",
            one_chat,
            True,
            "batch",
        ),
    ]:
        rates, queries = [], 0.0
        for _run in range(samples + 1):  # the first is the warm-up
            rate, queries = ingest_rate(messages_from(first), lanes=lanes)
            rates.append(rate)
            first += count
        rates = rates[1:]
        report(
            f"[{vendor}] ingest, {label}",
            f"{spread(rates)} = {statistics.median(rates) / raw[shape]:.2f} × raw {shape}; {queries:.3g} queries/msg",
        )


def lookup_before_issue_19(addresses: tuple[str, ...], prefix: str = "") -> Q:
    """The contact lookup as it was before a person had two addresses: the chat's id as the contact's."""
    return Q(**{f"{prefix}wa_id__in": addresses[:1]})


def from_lid(number: int, phone: str, lid: str) -> InboundMessage:
    """A message from a LID, as the session hands it over once WhatsApp mapped the LID to the phone."""
    return replace(inbound(number, chat=lid), person=Person(address=f"{phone}@c.us", alias=lid, phone=phone))


def test_ingest_rate_before_and_after_the_identity_lookup(scale, monkeypatch):
    """The contact found by either of a person's addresses (its WhatsApp id or its other one, the LID:
    tickets/inbound.py ``_holding``) against the lookup before it (the chat's id as the contact's), in
    the same run, each run of the three variants one after another so that a slower moment of the
    machine weighs on all three: messages from a phone id with the old lookup, the same with the new
    one, and messages from a LID mapped to the phone (the contact holds both addresses)."""
    vendor = db.vendor
    count, samples = scale.pick((IDENTITY_COUNT, SAMPLES), smoke=(5, 1))
    seed_and_analyse(scale.pick(HISTORY, smoke=5))
    phone = CUSTOMER.split("@")[0]

    shapes = {
        "messages to one open ticket, one at a time": {
            "phone id": lambda first: [inbound(n) for n in range(first, first + count)],
            "LID": lambda first: [
                from_lid(n, phone, "123456789012345@lid") for n in range(first, first + count)
            ],
        },
        "each message a new contact and ticket, one at a time": {
            "phone id": lambda first: [
                inbound(n, chat=f"55119{n:08d}@c.us") for n in range(first, first + count)
            ],
            "LID": lambda first: [
                from_lid(n, f"55117{n:08d}", f"9{n:014d}@lid") for n in range(first, first + count)
            ],
        },
    }
    variants = [
        ("before: the chat's id as the contact's, from the phone id", "phone id", lookup_before_issue_19),
        ("after: either address, from the phone id", "phone id", None),
        ("after: either address, from the LID mapped to the phone", "LID", None),
    ]
    first = 1000
    for shape, messages_of in shapes.items():
        rates: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        queries: dict[str, float] = {}
        for run in range(samples + 1):  # the first is the warm-up
            for label, sender, lookup in variants[run % 3 :] + variants[: run % 3]:  # each one first in turn
                with monkeypatch.context() as patch:
                    if lookup:
                        patch.setattr(tickets_inbound, "_holding", lookup)
                    rate, queries[label] = ingest_rate(messages_of[sender](first), lanes=False)
                rates[label].append(rate)
                first += count
        before = statistics.median(rates[variants[0][0]][1:])
        for label, _, _ in variants:
            measured = rates[label][1:]
            report(
                f"[{vendor}] ingest, {shape}: {label}",
                f"{spread(measured)} = {statistics.median(measured) / before:.2f} × before; "
                f"{queries[label]:.3g} queries/msg",
            )
    lookup_alone(variants, scale.pick(2000, smoke=10), monkeypatch)


def lookup_alone(variants, count: int, monkeypatch) -> None:
    """The lookup alone, without the commit that dwarfs it: the ingest's look for a chat's open ticket
    and contact (``_ticket_and_new_messages``) for a message of a known contact with an open ticket,
    ``count`` times in one transaction, each variant in turn, the median of 5 rounds."""
    vendor = db.vendor
    connection = ConnectionFactory()
    phone = CUSTOMER.split("@")[0]
    chat_messages_ingest(
        connection=connection,
        chat="123456789012345@lid",
        messages=[from_lid(0, phone, "123456789012345@lid")],
    )
    messages = {"phone id": [inbound(1)], "LID": [from_lid(1, phone, "123456789012345@lid")]}
    seconds: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    with transaction.atomic():
        for _round in range(5):
            for label, sender, lookup in variants:
                with monkeypatch.context() as patch:
                    if lookup:
                        patch.setattr(tickets_inbound, "_holding", lookup)
                    batch = messages[sender]
                    started = time.perf_counter()
                    for _ in range(count):
                        ticket, _contact, _new = tickets_inbound._ticket_and_new_messages(
                            connection, batch[0].chat, batch
                        )
                        assert ticket is not None
                    seconds[label].append((time.perf_counter() - started) / count)
    before = statistics.median(seconds[variants[0][0]])
    for label, _, _ in variants:
        each = statistics.median(seconds[label])
        report(
            f"[{vendor}] the lookup alone (a known contact's open ticket): {label}",
            f"{each * 1e6:.0f} µs = {each / before:.2f} × before",
        )


def test_ingest_rate_before_and_after_the_milestones(scale, monkeypatch):
    """The cost of the figures the ingest now keeps (tickets/milestones.py: the customer's first message
    and the SLA's due times in the ticket's INSERT, the OPENED and QUEUED milestones) against the same
    ingest with those hooks as no-ops (the first message's time still goes into the new ticket's
    INSERT, as any column, so that later messages see a ticket that counts), in the same run, each run of the two variants one after the
    other, each first in turn. The connection has one queue with SLA promises and business hours, so
    a new ticket enters it and gets its due times: the dearest case. A message to an open ticket that
    already counts should cost nothing more (its query count is pinned in tests/tickets/test_inbound.py)."""
    vendor = db.vendor
    count, samples = scale.pick((IDENTITY_COUNT, SAMPLES), smoke=(5, 1))
    seed_and_analyse(scale.pick(HISTORY, smoke=5))
    all_but_sunday = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    shapes = {
        "each message a new contact and ticket, one at a time": lambda first: [
            inbound(n, chat=f"55119{n:08d}@c.us") for n in range(first, first + count)
        ],
        "messages to one open ticket, one at a time": lambda first: [
            inbound(n) for n in range(first, first + count)
        ],
    }

    def first_inbound_bare(*, ticket, at, queue) -> list[str]:
        """The column alone, as any other of the new ticket's INSERT: no due times, nothing to save more."""
        ticket.first_inbound_at = at
        return []

    def without_milestones(patch) -> None:
        patch.setattr(tickets_inbound, "first_inbound_set", first_inbound_bare)
        patch.setattr(tickets_inbound, "ticket_opened", lambda **kwargs: None)
        patch.setattr(tickets_inbound, "ticket_reopened", lambda **kwargs: None)

    variants = [("before: without the milestones", without_milestones), ("after: with the milestones", None)]
    first = 1000
    for shape, messages_of in shapes.items():
        rates: dict[str, list[float]] = {label: [] for label, _ in variants}
        queries: dict[str, float] = {}
        for run in range(samples + 1):  # the first is the warm-up
            for label, hooks_off in variants[run % 2 :] + variants[: run % 2]:
                queue = QueueFactory(
                    sla_first_response_minutes=30, sla_resolution_minutes=240, business_hours=all_but_sunday
                )
                connection = ConnectionFactory()
                connection.queues.add(queue)
                with monkeypatch.context() as patch:
                    if hooks_off:
                        hooks_off(patch)
                    rate, queries[label] = ingest_rate(messages_of(first), lanes=False, connection=connection)
                rates[label].append(rate)
                first += count
        before = statistics.median(rates[variants[0][0]][1:])
        for label, _ in variants:
            measured = rates[label][1:]
            report(
                f"[{vendor}] ingest, {shape}: {label}",
                f"{spread(measured)} = {statistics.median(measured) / before:.2f} × before; "
                f"{queries[label]:.3g} queries/msg",
            )
