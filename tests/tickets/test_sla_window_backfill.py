"""The start of the running SLA windows of the tickets written before it was kept
(tickets/migrations/0016_sla_window_start.py), run by Django's migration executor as ``migrate``
runs it: the database is taken back to 0015, the old tickets written, then migrated forward."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.tickets.migration_helpers import migrate, newest, ticket_as_of
from tickets.models import Milestone, Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # SQLite's schema editor needs no open transaction
BEFORE = [("tickets", "0015_backfill_milestones")]
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def before_0016():
    migrate(BEFORE)
    yield
    migrate(newest())


def reopened_at(ticket: Ticket, minutes: float) -> None:
    Milestone.objects.create(
        ticket_id=ticket.pk,
        kind="reopened",
        at=T0 + timedelta(minutes=minutes),
        connection_id=ticket.connection_id,
    )


def test_a_reopened_ticket_starts_at_its_last_reopening_any_other_at_the_first_message(before_0016):
    reopened = ticket_as_of(BEFORE, status="open", first_inbound_at=T0, reopen_count=2)
    reopened_at(reopened, 40)
    reopened_at(reopened, 30)
    never_reopened = ticket_as_of(BEFORE, status="pending", first_inbound_at=T0 + timedelta(minutes=5))
    reopened_without_its_row = ticket_as_of(BEFORE, status="open", first_inbound_at=T0, reopen_count=1)
    silent = ticket_as_of(BEFORE, status="pending")

    migrate(newest())

    starts = dict(Ticket.objects.values_list("pk", "sla_window_start"))
    assert starts == {
        reopened.pk: T0 + timedelta(minutes=40),
        never_reopened.pk: T0 + timedelta(minutes=5),
        reopened_without_its_row.pk: T0,
        silent.pk: None,
    }
