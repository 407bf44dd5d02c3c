"""The audit's closing at scale (``make bench``, PostgreSQL only): 1,000,000 tickets, 100,000 of them stale
(``BENCH_AUDIT_TICKETS`` another number, a tenth of it stale; the smoke run: 1,000, 100 stale).

Seeded with INSERT ... SELECT generate_series (seconds, not the hours of the ORM), every column the
seed does not vary as the model fills it (tests/seeding.py). Measured: the time of ``audit
--close-stale`` (without the browser launch, timed in the infrastructure section on its own), the
SQL statements it issued, and how much its peak memory grew (ru_maxrss) beside an empty run, one
with nothing to close on the same tickets.
"""

import os
import resource
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection as db

from contacts.models import Contact
from tests.benchmarks.results import report
from tests.factories import ConnectionFactory, QueueFactory
from tests.seeding import insert_select
from tickets.management.commands.audit import Command
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]
# Tickets, and of them the open ones (the last ids, a fifth), every other one of which is made stale.
TICKETS = int(os.environ.get("BENCH_AUDIT_TICKETS", "1000000"))
FULL, SMOKE = (TICKETS, TICKETS // 5), (1_000, 200)


def seed(*, tickets: int, active: int, connection_id: int, queue_ids: list[int]) -> None:
    """Contacts, then tickets: closed ones first, then one open ticket per contact, none stale yet."""
    insert_select(
        Contact,
        rows_from="generate_series(1, %(active)s) AS n",
        values={"wa_id": "'5511' || n || '@c.us'", "phone": "'5511' || n", "push_name": "'Customer ' || n"},
        params={"active": active},
    )
    with db.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM contacts_contact")
        first_contact = cursor.fetchone()[0]
    insert_select(
        Ticket,
        rows_from="generate_series(1, %(total)s) AS n",
        values={
            "contact_id": "%(first)s + (n %% %(active)s)",
            "connection_id": "%(connection)s",
            "queue_id": "(%(queues)s::bigint[])[1 + n %% 4]",
            "status": "CASE WHEN n > %(closed)s THEN 'open' ELSE 'closed' END",
            "last_message_at": "now() - interval '1 hour'",
            "last_message_preview": "'Olá'",
            "last_inbound_at": "now() - interval '1 hour'",
            "close_reason": "CASE WHEN n > %(closed)s THEN '' ELSE 'agent' END",
            "created_at": "now() - interval '40 hours'",
        },
        params={
            "first": first_contact,
            "active": active,
            "connection": connection_id,
            "closed": tickets - active,
            "total": tickets,
            "queues": [*queue_ids, None],
        },
    )
    with db.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact; ANALYZE tickets_ticket")


def make_stale() -> None:
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET last_message_at = now() - interval '30 hours' "
            "WHERE status = 'open' AND id % 2 = 0"
        )
        cursor.execute("ANALYZE tickets_ticket")


def measured_close() -> tuple[float, int, float, str]:
    """(seconds, statements, peak memory growth in MiB, the report's tickets line) of one ``audit --close-stale``."""
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    command, out = Command(), StringIO()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with db.execute_wrapper(count):
        started = time.perf_counter()
        call_command(command, "--no-browser", "--close-stale", stdout=out)
        elapsed = time.perf_counter() - started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    closed_line = next((line for line in out.getvalue().splitlines() if "Closed" in line), "nothing closed")
    return elapsed, statements, growth, closed_line.strip()


def test_closing_100k_stale_tickets_among_a_million(scale):
    if db.vendor != "postgresql":
        pytest.skip("the published figures are PostgreSQL's (DATABASE_URL)")
    tickets, active = scale.pick(FULL, smoke=SMOKE)
    queues = [QueueFactory().pk for _ in range(3)]
    started = time.perf_counter()
    seed(
        tickets=tickets,
        active=active,
        connection_id=ConnectionFactory(status="CONNECTED").pk,
        queue_ids=queues,
    )
    report(
        f"audit bench: seeding {tickets:,} tickets ({active:,} open)",
        f"{time.perf_counter() - started:.1f} s",
    )

    empty_seconds, empty_statements, empty_growth, _line = measured_close()
    make_stale()
    seconds, statements, growth, closed = measured_close()

    assert Ticket.objects.filter(status="closed", close_reason="audit").count() == active // 2
    report(
        f"audit --close-stale, nothing stale ({tickets:,} tickets)",
        f"{empty_seconds:.2f} s, {empty_statements} statements, peak memory +{empty_growth:.0f} MiB",
    )
    report(
        f"audit --close-stale, {active // 2:,} stale of {tickets:,} ({closed})",
        f"{seconds:.2f} s, {statements} statements, peak memory +{growth:.0f} MiB",
    )
    assert seconds <= 10
    assert growth - empty_growth <= 100
