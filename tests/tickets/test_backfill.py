"""The backfill of the figures of the tickets written before they were kept as things happen
(tickets/migrations/0015_backfill_milestones.py), run by Django's migration executor as ``migrate``
runs it: the database is taken back to 0014, the old tickets written, then migrated forward."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import ConnectionFactory, MessageFactory, QueueFactory, UserFactory
from tests.tickets.migration_helpers import migrate, newest, ticket_as_of
from tickets.models import Message, Milestone, Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # SQLite's schema editor needs no open transaction
BEFORE = [("tickets", "0014_sla_watch_schedule")]
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
AFTER = newest()  # 0015, and the migrations after it (the tickets are read back with today's model)


@pytest.fixture
def before_backfill():
    """The database as it was before 0015; back to the newest state afterwards."""
    migrate(BEFORE)
    yield
    migrate(AFTER)


def at(ticket: Ticket, minutes: float, **fields) -> Message:
    """A message of ``ticket`` stored ``minutes`` after T0 (created_at is auto_now_add: set after)."""
    message = MessageFactory(ticket=ticket, **fields)
    when = T0 + timedelta(minutes=minutes)
    Message.objects.filter(pk=message.pk).update(
        created_at=when, wa_timestamp=None if fields.get("from_me") else when
    )
    return message


def old_ticket(**fields) -> Ticket:
    ticket = ticket_as_of(BEFORE, **fields)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=T0)
    return ticket


def test_old_tickets_get_their_figures_from_messages_and_system_lines(before_backfill):
    ana, bruno = UserFactory(), UserFactory()
    queue = QueueFactory()
    ticket = old_ticket(
        queue=queue, connection=ConnectionFactory(), status="closed", assignee=ana, closed_by=bruno
    )
    at(ticket, -1, from_me=True, author=ana, body="Escrevemos primeiro", status="sent")
    at(ticket, 0, body="Oi")  # the customer's first message
    at(ticket, 1, from_me=True, body="Bem-vindo!", status="sent")  # the greeting: no author
    at(ticket, 2, from_me=True, author=ana, kind="note", body="VIP", status="sent")
    at(ticket, 3, from_me=True, author=ana, kind="system", event={"event": "accepted", "agent": "Ana"})
    at(ticket, 4, from_me=True, author=ana, body="Olá, posso ajudar?", status="read")  # the first response
    at(ticket, 5, from_me=True, author=bruno, body="Eu também", status="read")
    at(ticket, 30, from_me=True, author=bruno, kind="system", event={"event": "reopened", "agent": "Bruno"})
    at(ticket, 40, from_me=True, author=ana, kind="system", event={"event": "reopened", "agent": "Ana"})
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=T0 + timedelta(minutes=60))
    silent = old_ticket(status="pending")  # nobody wrote yet
    only_scheduled = old_ticket(status="open")
    at(only_scheduled, 0, body="Oi")
    at(only_scheduled, 1, from_me=True, author=ana, body="Amanhã", status="scheduled")

    migrate(AFTER)

    ticket.refresh_from_db()
    assert (
        ticket.first_inbound_at,
        ticket.first_response_at,
        ticket.first_response_by,
        ticket.reopen_count,
    ) == (
        T0,
        T0 + timedelta(minutes=4),
        ana,
        2,
    )
    assert list(
        Milestone.objects.filter(ticket=ticket).values_list(
            "kind", "at", "agent", "queue", "seconds", "business_seconds"
        )
    ) == [
        ("opened", T0, None, queue.pk, None, None),
        ("queued", T0, None, queue.pk, None, None),
        ("first_response", T0 + timedelta(minutes=4), ana.pk, queue.pk, 240.0, 240.0),
        ("reopened", T0 + timedelta(minutes=30), bruno.pk, queue.pk, None, None),
        ("reopened", T0 + timedelta(minutes=40), ana.pk, queue.pk, None, None),
        ("closed", T0 + timedelta(minutes=60), bruno.pk, queue.pk, 3600.0, 3600.0),
    ]
    silent.refresh_from_db()
    assert (silent.first_inbound_at, list(silent.milestones.values_list("kind", flat=True))) == (
        None,
        ["opened"],
    )
    only_scheduled.refresh_from_db()
    assert (only_scheduled.first_inbound_at, only_scheduled.first_response_at) == (T0, None)


def test_business_seconds_follow_the_queues_hours_and_an_audit_close_goes_to_the_assignee(before_backfill):
    ana = UserFactory()
    weekdays = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    ticket = old_ticket(queue=QueueFactory(business_hours=weekdays), status="closed", assignee=ana)
    friday_17h = datetime(2026, 11, 6, 20, 0, tzinfo=UTC)  # in São Paulo (TIME_ZONE, UTC-3)
    at(ticket, (friday_17h - T0).total_seconds() / 60, body="Oi")
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=friday_17h + timedelta(days=3))  # Monday 17:00

    migrate(AFTER)

    closed = Milestone.objects.get(ticket=ticket, kind="closed")
    assert (closed.agent, closed.seconds, closed.business_seconds) == (ana, 3 * 86400.0, 9 * 3600.0)


def test_a_ticket_with_milestones_is_left_as_it_is_and_a_second_run_adds_nothing(before_backfill):
    counted = old_ticket(status="open")
    at(counted, 0, body="Oi")
    Milestone.objects.create(ticket=counted, kind="opened", at=T0, connection=counted.connection)
    old = old_ticket(status="open")
    at(old, 0, body="Oi")

    migrate(AFTER)
    migrate(BEFORE)
    migrate(AFTER)

    assert Milestone.objects.filter(ticket=counted).count() == 1
    assert Ticket.objects.get(pk=counted.pk).first_inbound_at is None
    assert list(Milestone.objects.filter(ticket=old).values_list("kind", flat=True)) == ["opened"]
    assert Ticket.objects.get(pk=old.pk).first_inbound_at == T0
