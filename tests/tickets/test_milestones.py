"""A ticket's figures, written by the services as things happen (tickets/milestones.py): what the
reports, the SLA watch and the API read. Each test drives the services a user's action goes through
(the ingest of the customer's message, an agent's reply, the close, the transfer) on a clock the
test moves, and reads the ticket's columns and its Milestone rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory, UserFactory
from tests.tickets.test_inbound import inbound
from tickets.audit.stale import tickets_close_stale
from tickets.inbound import chat_messages_ingest
from tickets.merging import contact_merge
from tickets.models import Milestone, Ticket
from tickets.outbound import note_add, scheduled_promote
from tickets.services import (
    number_message_send,
    ticket_accept,
    ticket_close,
    ticket_reopen,
    ticket_reply,
    ticket_transfer,
)
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db
K = Milestone.Kind
# 10:00 in São Paulo (TIME_ZONE, UTC-3). In the past: the wire takes a message's time from the future as now.
MONDAY_10H = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
WEEKDAYS_9_TO_18 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """``timezone.now()`` for every service (and auto_now fields), moved by the test."""
    moment = Clock(MONDAY_10H)
    monkeypatch.setattr(timezone, "now", lambda: moment.now)
    return moment


def customer_writes(connection: Connection, clock: Clock, body: str = "Olá", number: int = 1) -> Ticket:
    """The customer's message, sent now, through the ingest; their ticket."""
    message = inbound(number, body=body, t=int(clock.now.timestamp()))
    chat_messages_ingest(connection=connection, chat=message.chat, messages=[message])
    return Ticket.objects.get(connection=connection, status__in=["open", "pending"])


def milestones(ticket: Ticket) -> list[tuple]:
    return list(
        Milestone.objects.filter(ticket=ticket).values_list("kind", "at", "queue_id", "agent_id", "seconds")
    )


def kinds(ticket: Ticket) -> list[str]:
    return list(Milestone.objects.filter(ticket=ticket).values_list("kind", flat=True))


def one_queue_connection(**queue_fields) -> tuple[Connection, object]:
    queue = QueueFactory(**queue_fields)
    connection = ConnectionFactory()
    connection.queues.add(queue)
    return connection, queue


def test_the_customers_first_message_starts_the_clock_and_opens_the_ticket(clock):
    connection, queue = one_queue_connection(sla_first_response_minutes=30, sla_resolution_minutes=240)

    ticket = customer_writes(connection, clock)
    clock.advance(minutes=5)
    customer_writes(connection, clock, body="Alguém?", number=2)

    ticket.refresh_from_db()
    assert ticket.first_inbound_at == MONDAY_10H
    assert ticket.first_response_due == MONDAY_10H + timedelta(minutes=30)
    assert ticket.resolution_due == MONDAY_10H + timedelta(minutes=240)
    assert milestones(ticket) == [
        (K.OPENED, MONDAY_10H, queue.pk, None, None),
        (K.QUEUED, MONDAY_10H, queue.pk, None, None),
    ]


def test_the_first_agent_answer_is_the_first_response_with_its_wait(clock, staff):
    connection, _queue = one_queue_connection()
    ticket = customer_writes(connection, clock)
    colleague = UserFactory(is_superuser=True)

    clock.advance(seconds=90)
    ticket_reply(ticket=ticket, by=staff, body="Bom dia!")
    clock.advance(seconds=60)
    ticket_reply(ticket=Ticket.objects.get(pk=ticket.pk), by=colleague, body="Posso ajudar também.")

    ticket.refresh_from_db()
    assert (ticket.first_response_at, ticket.first_response_by) == (MONDAY_10H + timedelta(seconds=90), staff)
    response = Milestone.objects.get(ticket=ticket, kind=K.FIRST_RESPONSE)
    assert (response.agent, response.seconds, response.business_seconds) == (staff, 90.0, 90.0)


def test_greetings_menus_notes_and_system_lines_are_not_a_first_response(clock, staff):
    sales, support = QueueFactory(greeting="Vendas, {{name}}!"), QueueFactory()
    connection = ConnectionFactory(greeting="Olá! Escolha:", farewell="Tchau")
    connection.queues.add(sales, support)

    ticket = customer_writes(connection, clock)  # the greeting with the menu
    clock.advance(seconds=30)
    customer_writes(connection, clock, body="1", number=2)  # the menu's answer: the queue's greeting
    clock.advance(seconds=30)
    ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), by=staff)  # a system line with an author
    note_add(ticket=ticket, author=staff, body="Cliente antigo")

    ticket.refresh_from_db()
    assert ticket.messages.filter(from_me=True, kind="text").count() == 2  # menu and greeting went out
    assert ticket.messages.filter(from_me=True, author=staff).count() == 2  # the line and the note
    assert (ticket.first_response_at, ticket.first_response_by) == (None, None)
    assert K.FIRST_RESPONSE not in kinds(ticket)
    queued = Milestone.objects.get(ticket=ticket, kind=K.QUEUED)
    assert (queued.queue, queued.at) == (sales, MONDAY_10H + timedelta(seconds=30))


def test_a_program_writing_to_the_number_answers_first(clock, staff):
    connection, _queue = one_queue_connection()
    ticket = customer_writes(connection, clock)
    clock.advance(minutes=2)

    number_message_send(
        connection=connection, phone=ticket.contact.phone, by=staff, body="Recebemos.", queue_if_offline=True
    )

    ticket.refresh_from_db()
    assert (ticket.first_response_at, ticket.first_response_by) == (MONDAY_10H + timedelta(minutes=2), staff)
    assert Milestone.objects.get(ticket=ticket, kind=K.FIRST_RESPONSE).seconds == 120.0


def test_a_scheduled_reply_counts_when_its_time_comes_not_when_written(clock, staff):
    connection, _queue = one_queue_connection()
    ticket = customer_writes(connection, clock)
    ticket_reply(ticket=ticket, by=staff, body="Amanhã cedo!", send_at=clock.now + timedelta(minutes=10))

    ticket.refresh_from_db()
    assert ticket.first_response_at is None

    clock.advance(minutes=10)
    scheduled_promote(connection_id=connection.pk)

    ticket.refresh_from_db()
    assert (ticket.first_response_at, ticket.first_response_by) == (MONDAY_10H + timedelta(minutes=10), staff)
    assert Milestone.objects.get(ticket=ticket, kind=K.FIRST_RESPONSE).seconds == 600.0


def test_each_reopening_counts_and_gives_a_new_resolution_due(clock, staff, settings):
    settings.TICKET_REOPEN_WINDOW = 2 * 3600
    connection, _queue = one_queue_connection(sla_resolution_minutes=60)
    ticket = customer_writes(connection, clock)
    ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)

    reopened_at = clock.advance(hours=1)
    assert customer_writes(connection, clock, body="Ainda não deu certo", number=2).pk == ticket.pk
    ticket.refresh_from_db()
    assert (ticket.reopen_count, ticket.resolution_due) == (1, reopened_at + timedelta(minutes=60))

    ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)
    again_at = clock.advance(minutes=10)
    ticket_reopen(ticket=ticket, by=staff)

    ticket.refresh_from_db()
    assert (ticket.reopen_count, ticket.resolution_due) == (2, again_at + timedelta(minutes=60))
    reopenings = Milestone.objects.filter(ticket=ticket, kind=K.REOPENED)
    assert list(reopenings.values_list("at", "agent")) == [(reopened_at, None), (again_at, staff.pk)]

    ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)
    clock.advance(hours=3)  # past the window: a new conversation
    new = customer_writes(connection, clock, body="Outra coisa", number=3)
    assert new.pk != ticket.pk
    assert (new.reopen_count, kinds(new)) == (0, [K.OPENED, K.QUEUED])


def test_the_close_records_the_resolution_and_who_closed(clock, staff):
    connection, queue = one_queue_connection()
    ticket = customer_writes(connection, clock)

    closed_at = clock.advance(hours=1, minutes=30)
    ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)

    closed = Milestone.objects.get(ticket=ticket, kind=K.CLOSED)
    assert (closed.at, closed.agent, closed.queue, closed.seconds, closed.business_seconds) == (
        closed_at,
        staff,
        queue,
        5400.0,
        5400.0,
    )


def test_a_close_by_nobody_in_particular_is_credited_to_the_assignee(clock, agent):
    connection, _queue = one_queue_connection()
    ticket = customer_writes(connection, clock)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, status="open")

    clock.advance(minutes=3)
    ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=None, reason=Ticket.CloseReason.API)

    assert Milestone.objects.get(ticket=ticket, kind=K.CLOSED).agent == agent


def test_an_agent_writing_first_from_the_phone_does_not_start_the_clock(clock):
    connection, _queue = one_queue_connection()
    ours = inbound(1, from_me=True, body="Oi, tudo bem?", t=int(clock.now.timestamp()))
    chat_messages_ingest(connection=connection, chat=ours.chat, messages=[ours])
    ticket = Ticket.objects.get()
    assert ticket.first_inbound_at is None

    answered_at = clock.advance(minutes=7)
    customer_writes(connection, clock, body="Tudo, e você?", number=2)

    ticket.refresh_from_db()
    assert (ticket.first_inbound_at, ticket.first_response_at) == (answered_at, None)
    assert kinds(ticket) == [K.OPENED, K.QUEUED]


def test_the_audit_credits_its_close_to_whose_ticket_it_was(clock, agent):
    connection, queue = one_queue_connection(business_hours=WEEKDAYS_9_TO_18)
    ticket = customer_writes(connection, clock)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, status="open")
    unassigned = TicketFactory(connection=connection, status="pending", last_message_at=clock.now)

    clock.advance(days=1)  # Tuesday 10:00: 24 h later, 9 of them open
    tickets_close_stale(before=clock.now - timedelta(hours=12), ignore_waiting=False)

    closed = Milestone.objects.get(ticket=ticket, kind=K.CLOSED)
    assert (closed.agent, closed.queue, closed.seconds, closed.business_seconds) == (
        agent,
        queue,
        86400.0,
        9 * 3600.0,
    )
    never_written = Milestone.objects.get(ticket=unassigned, kind=K.CLOSED)
    assert (never_written.agent, never_written.seconds) == (None, None)


def test_a_merge_that_closes_a_ticket_records_its_close(clock, staff):
    connection = ConnectionFactory()
    kept = TicketFactory(connection=connection, status="open")
    other = TicketFactory(connection=connection, status="open", first_inbound_at=MONDAY_10H)
    clock.advance(minutes=20)

    contact_merge(keep=kept.contact, other=other.contact, by=staff)

    closed = Milestone.objects.get(ticket=other, kind=K.CLOSED)
    assert (closed.agent, closed.seconds) == (staff, 1200.0)


def test_a_transfer_splits_the_time_between_queues_and_moves_the_due_times(clock, staff):
    connection, first = one_queue_connection(sla_first_response_minutes=60)
    second = QueueFactory(sla_first_response_minutes=15, sla_resolution_minutes=120)
    ticket = customer_writes(connection, clock)

    moved_at = clock.advance(minutes=5)
    ticket_transfer(ticket=ticket, queue=second, by=staff)

    assert [(kind, at, queue) for kind, at, queue, _agent, _s in milestones(ticket)] == [
        (K.OPENED, MONDAY_10H, first.pk),
        (K.QUEUED, MONDAY_10H, first.pk),
        (K.QUEUED, moved_at, second.pk),
    ]
    ticket.refresh_from_db()
    assert (ticket.first_response_due, ticket.resolution_due) == (
        MONDAY_10H + timedelta(minutes=15),
        MONDAY_10H + timedelta(minutes=120),
    )


def test_business_seconds_follow_the_queues_hours(clock, staff):
    connection, _queue = one_queue_connection(business_hours=WEEKDAYS_9_TO_18, sla_first_response_minutes=120)
    clock.now = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # Friday 17:00 in São Paulo: one hour left
    ticket = customer_writes(connection, clock)
    ticket.refresh_from_db()
    assert ticket.first_response_due == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # Monday 10:00

    clock.now = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # Monday 10:30
    ticket_reply(ticket=ticket, by=staff, body="Bom dia!")
    clock.advance(hours=1)
    ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=staff, reason=Ticket.CloseReason.AGENT)

    response = Milestone.objects.get(ticket=ticket, kind=K.FIRST_RESPONSE)
    closed = Milestone.objects.get(ticket=ticket, kind=K.CLOSED)
    assert (response.seconds, response.business_seconds) == ((2 * 24 + 17.5) * 3600, 2.5 * 3600)
    assert (closed.seconds, closed.business_seconds) == ((2 * 24 + 18.5) * 3600, 3.5 * 3600)
