"""The audit's closing at scale (``make bench``, PostgreSQL only): 1,000,000 tickets, 100,000 of them stale.

Seeded with INSERT ... SELECT generate_series (seconds, not the hours of the
ORM). Measured: the time of ``audit --close-stale`` (without the browser
launch, timed in the infrastructure section on its own), the SQL statements it
issued, and how much its peak memory grew (ru_maxrss) beside an empty run, one
with nothing to close on the same million tickets.
"""

import resource
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection as db

from tests.benchmarks.test_sessions_bench import report
from tests.factories import ConnectionFactory, QueueFactory
from tickets.management.commands.audit import Command
from tickets.models import Ticket

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer"),
]
TICKETS, ACTIVE, STALE = (
    1_000_000,
    200_000,
    100_000,
)  # the active ones are the last ACTIVE ids, every other one stale


def seed(connection_id: int, queue_ids: list[int]) -> None:
    """Contacts, then tickets: closed ones first, then one open ticket per contact, none stale yet."""
    with db.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_contact (wa_id, phone, name, push_name, email, avatar_url, is_group, blocked,
                                             notes, created_at, updated_at)
               SELECT '5511' || n || '@c.us', '5511' || n, '', 'Customer ' || n, '', '', false, false, '', now(), now()
               FROM generate_series(1, %s) AS n""",
            [ACTIVE],
        )
        cursor.execute("SELECT min(id) FROM contacts_contact")
        first_contact = cursor.fetchone()[0]
        cursor.execute(
            """INSERT INTO tickets_ticket (contact_id, connection_id, queue_id, status, unread_count,
                   last_message_at, last_message_preview, last_inbound_at, close_reason, created_at, updated_at)
               SELECT %(first)s + (n %% %(active)s), %(connection)s,
                      (%(queues)s::bigint[])[1 + n %% 4], CASE WHEN n > %(closed)s THEN 'open' ELSE 'closed' END,
                      0, now() - interval '1 hour', 'Olá', now() - interval '1 hour',
                      CASE WHEN n > %(closed)s THEN '' ELSE 'agent' END, now() - interval '40 hours', now()
               FROM generate_series(1, %(total)s) AS n""",
            {
                "first": first_contact,
                "active": ACTIVE,
                "connection": connection_id,
                "closed": TICKETS - ACTIVE,
                "total": TICKETS,
                "queues": [*queue_ids, None],
            },
        )
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


def test_closing_100k_stale_tickets_among_a_million():
    if db.vendor != "postgresql":
        pytest.skip("the published figures are PostgreSQL's (DATABASE_URL)")
    queues = [QueueFactory().pk for _ in range(3)]
    started = time.perf_counter()
    seed(ConnectionFactory(status="CONNECTED").pk, queues)
    report("audit bench: seeding 1,000,000 tickets (200,000 open)", f"{time.perf_counter() - started:.1f} s")

    empty_seconds, empty_statements, empty_growth, _line = measured_close()
    make_stale()
    seconds, statements, growth, closed = measured_close()

    assert Ticket.objects.filter(status="closed", close_reason="audit").count() == STALE
    report(
        "audit --close-stale, nothing stale (1,000,000 tickets)",
        f"{empty_seconds:.2f} s, {empty_statements} statements, peak memory +{empty_growth:.0f} MiB",
    )
    report(
        f"audit --close-stale, {STALE:,} stale of 1,000,000 ({closed})",
        f"{seconds:.2f} s, {statements} statements, peak memory +{growth:.0f} MiB",
    )
    assert seconds <= 10
    assert growth - empty_growth <= 100
