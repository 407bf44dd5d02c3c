"""What the lease fence costs the ingest (``make bench``): the same batches stored as a session
stores them (``chat_batch_store`` in a thread of a pool), with and without ``lease_fenced``
around each, in alternating samples after a warm-up. Run it on PostgreSQL (DATABASE_URL)
for the published figures: there the fence's row lock is real. The smoke run
(tests/benchmarks/conftest.py): batches of 10, one sample."""

import statistics
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection as db

from tests.benchmarks.results import report
from tests.benchmarks.test_ingest_bench import close_connections, seconds_to_store
from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tickets.models import Message
from whatsapp.dead_letters import chat_batch_store
from whatsapp.lease import lease_acquire, lease_fenced

pytestmark = pytest.mark.django_db(transaction=True)
COUNT, SAMPLES = 500, 3
OWNER = "benchhost:1:1:bench"


def rate(messages, *, fenced: bool, lanes: bool) -> float:
    """Messages per second, every one checked stored."""
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=OWNER)
    workers = settings.WHATSAPP_CHAT_CONCURRENCY
    pool = ThreadPoolExecutor(workers)

    def store(chat, batch) -> None:
        if not fenced:
            chat_batch_store(connection=connection, chat=chat, messages=batch)
            return
        with lease_fenced(connection_id=connection.pk, owner=OWNER):
            chat_batch_store(connection=connection, chat=chat, messages=batch)

    elapsed = seconds_to_store(store, messages, pool=pool, workers=workers, lanes=lanes)
    close_connections(pool, workers)
    assert Message.objects.filter(connection=connection).count() == len(messages)
    return len(messages) / elapsed


def test_the_fence_costs_the_ingest_little(settings, scale):
    settings.WHATSAPP_LEASE = 3600
    count, samples_of_each = scale.pick((COUNT, SAMPLES), smoke=(10, 1))
    first = 0

    def batch(*, one_chat: bool) -> list:
        nonlocal first
        first += count
        return [
            inbound(n, chat=inbound(0).chat if one_chat else f"55117{n:08d}@c.us")
            for n in range(first, first + count)
        ]

    for label, one_chat, lanes in [
        ("messages to one open ticket, one at a time", True, False),
        ("each message a new contact and ticket, through the lanes", False, True),
    ]:
        rate(batch(one_chat=one_chat), fenced=True, lanes=lanes)  # warm-up
        samples = {True: [], False: []}
        for _ in range(samples_of_each):
            for fenced in (False, True):
                samples[fenced].append(rate(batch(one_chat=one_chat), fenced=fenced, lanes=lanes))
        plain, fenced = statistics.median(samples[False]), statistics.median(samples[True])
        report(
            f"[{db.vendor}] ingest with the lease fence, {label}",
            f"{fenced:.0f} msg/s against {plain:.0f} without = {fenced / plain:.2f} × (median of {samples_of_each})",
        )
