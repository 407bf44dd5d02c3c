"""The milestones' backfill at scale (``make bench``): tickets/migrations/0015_backfill_milestones.py over
20,000 tickets and 200,000 messages (``BENCH_BACKFILL_TICKETS`` another number of tickets, ten messages
each; the smoke run: 200 tickets), on SQLite or PostgreSQL (DATABASE_URL).

Seeded with one INSERT ... SELECT over a series each (tests/seeding.py), the series written as a
recursive query so both databases read it. Each ticket has the customer's first message, the
greeting (no author), a system line, an agent's answer, a note and the rest of a conversation; one in
ten was reopened (a "reopened" line), half are closed. Measured: the time of the migration's
function (as ``migrate`` runs it: batches of 2,000), its SQL statements, and that every ticket got
its figures.
"""

import importlib
import os
import time

import pytest
from django.apps import apps
from django.db import connection as db

from contacts.models import Contact
from tests.benchmarks.results import report
from tests.factories import ConnectionFactory, QueueFactory, UserFactory
from tests.seeding import insert_select
from tickets.models import Message, Milestone, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
TICKETS = int(os.environ.get("BENCH_BACKFILL_TICKETS", "20000"))
MESSAGES_EACH = 10
backfill = importlib.import_module("tickets.migrations.0015_backfill_milestones").backfill


def series(count: str) -> str:
    """The rows 1..count (a placeholder) as a derived table ``s(n)``, in SQL both databases read."""
    return (
        f"(WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < {count}) "
        "SELECT n FROM series) AS s"
    )


def seed(tickets: int) -> None:
    connection, queue, agent = ConnectionFactory(), QueueFactory(), UserFactory()
    json = "::jsonb" if db.vendor == "postgresql" else ""
    insert_select(
        Contact,
        rows_from=series("%(count)s"),
        values={"wa_id": "'5511' || n || '@c.us'", "phone": "'5511' || n", "push_name": "'Customer ' || n"},
        params={"count": tickets},
    )
    first_contact = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    insert_select(
        Ticket,
        rows_from=series("%(count)s"),
        values={
            "contact_id": "%(first)s + n - 1",
            "connection_id": "%(connection)s",
            "queue_id": "%(queue)s",
            "assignee_id": "%(agent)s",
            "status": "CASE WHEN n %% 2 = 0 THEN 'closed' ELSE 'open' END",
            "closed_at": "CASE WHEN n %% 2 = 0 THEN %(model_created_at)s END",  # created_at's value
            "last_message_preview": "'Olá'",
        },
        params={
            "count": tickets,
            "first": first_contact,
            "connection": connection.pk,
            "queue": queue.pk,
            "agent": agent.pk,
        },
    )
    first_ticket = Ticket.objects.order_by("pk").values_list("pk", flat=True).first()
    # Message n of ticket (n - 1) / 10: 0 the customer's first, 1 the greeting, 2 a system line (one
    # ticket in ten: "reopened"), 3 the agent's answer, 4 a note, then the conversation, both sides.
    position = f"((n - 1) %% {MESSAGES_EACH})"
    insert_select(
        Message,
        rows_from=series("%(count)s"),
        values={
            "ticket_id": f"%(first)s + (n - 1) / {MESSAGES_EACH}",
            "connection_id": "%(connection)s",
            "from_me": f"{position} IN (1, 2, 3, 4, 6, 8)",
            "author_id": f"CASE WHEN {position} IN (2, 3, 4, 6, 8) THEN %(agent)s END",
            "kind": f"CASE {position} WHEN 2 THEN 'system' WHEN 4 THEN 'note' ELSE 'text' END",
            "event": f"CASE WHEN {position} = 2 THEN (CASE WHEN (n - 1) / {MESSAGES_EACH} %% 10 = 0 "
            f"""THEN '{{"event": "reopened"}}' ELSE '{{"event": "accepted"}}' END){json} END""",
            "body": "'Olá ' || n",
            "status": f"CASE WHEN {position} IN (0, 5, 7, 9) THEN 'received' ELSE 'sent' END",
        },
        params={
            "count": tickets * MESSAGES_EACH,
            "first": first_ticket,
            "connection": connection.pk,
            "agent": agent.pk,
        },
    )
    with db.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_the_backfill_of_existing_tickets(scale):
    tickets = scale.pick(TICKETS, smoke=200)
    started = time.perf_counter()
    seed(tickets)
    seeded = time.perf_counter() - started
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with db.execute_wrapper(count), db.schema_editor() as editor:  # as ``migrate`` runs it
        backfill(apps, editor)
    elapsed = time.perf_counter() - started

    assert Ticket.objects.filter(first_inbound_at__isnull=True).count() == 0
    assert Ticket.objects.filter(first_response_at__isnull=True).count() == 0
    assert Milestone.objects.filter(kind="closed").count() == tickets // 2
    assert Milestone.objects.filter(kind="reopened").count() == (tickets + 9) // 10
    milestones = Milestone.objects.count()
    report(
        f"[{db.vendor}] backfill 0015: {tickets:,} tickets, {tickets * MESSAGES_EACH:,} messages "
        f"(seeded in {seeded:.1f} s)",
        f"{elapsed:.2f} s, {statements} SQL statements, {milestones:,} milestones",
        to="backfill.md",
    )
