from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ConnectionFactory, QueueFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from tickets.models import Message, Queue, Ticket
from tickets.services import ticket_close

pytestmark = pytest.mark.django_db


def said(ticket: Ticket) -> list[str]:
    """What the helpdesk queued for the customer, in order."""
    sent = ticket.messages.filter(from_me=True).exclude(kind__in=[Message.Kind.NOTE, Message.Kind.SYSTEM])
    return list(sent.order_by("id").values_list("body", flat=True))


def test_a_new_ticket_is_greeted_once_with_the_name_and_protocol():
    connection = ConnectionFactory(greeting="Olá {{name}}! Seu protocolo é {{protocol}}.")

    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    message_ingest(connection=connection, message=inbound(1))  # replayed
    message_ingest(connection=connection, message=inbound(2))  # the customer goes on

    assert said(ticket) == [f"Olá Maria! Seu protocolo é {ticket.pk}."]
    assert Message.objects.get(body__startswith="Olá Maria").status == "queued"


def test_several_queues_ask_the_customer_to_pick_one():
    connection = ConnectionFactory(greeting="Bem-vindo!")
    sales, support = (
        QueueFactory(name="Vendas", ordering=1),
        QueueFactory(name="Suporte", ordering=2, greeting="Suporte aqui, {{name}}."),
    )
    connection.queues.add(sales, support)

    ticket = message_ingest(connection=connection, message=inbound(1, body="oi")).ticket
    message_ingest(
        connection=connection, message=inbound(2, body="quero ajuda")
    )  # not an answer: no repeat yet
    message_ingest(connection=connection, message=inbound(3, body="2"))

    ticket.refresh_from_db()
    assert ticket.queue == support
    assert said(ticket) == ["Bem-vindo!\n1 - Vendas\n2 - Suporte", "Suporte aqui, Maria."]


@pytest.mark.parametrize("answer", ["²", "¹", "١", "２", "1" * 5000, "-1", "+1", "1."])
def test_only_ascii_digits_answer_the_menu(answer):
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory(name="A", ordering=1), QueueFactory(name="B", ordering=2))
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    stored = message_ingest(connection=connection, message=inbound(2, body=answer))

    ticket.refresh_from_db()
    assert stored.body == answer  # stored as sent, never an error
    assert (ticket.queue.name if ticket.queue else None) == ("A" if answer == "1." else None)


def test_the_menu_is_repeated_at_most_every_few_minutes():
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory(name="A"), QueueFactory(name="B"))
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    Ticket.objects.filter(pk=ticket.pk).update(menu_sent_at=timezone.now() - timedelta(minutes=6))

    message_ingest(connection=connection, message=inbound(2, body="9"))
    message_ingest(connection=connection, message=inbound(3, body="hã?"))

    assert said(ticket) == ["1 - A\n2 - B", "1 - A\n2 - B"]


def test_closing_says_the_farewell_unless_the_agent_chooses_not_to(agent):
    connection = ConnectionFactory(farewell="Obrigado, {{name}}!")
    first = message_ingest(connection=connection, message=inbound(1)).ticket
    second = message_ingest(connection=connection, message=inbound(2, chat="5511977776666@c.us")).ticket

    ticket_close(ticket=first, by=agent, reason=Ticket.CloseReason.AGENT)
    ticket_close(ticket=second, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)

    assert said(first) == ["Obrigado, Maria!"]
    assert said(second) == []


def menu_sent_ago(ticket: Ticket, delta: timedelta) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(menu_sent_at=timezone.now() - delta)


def test_the_menu_comes_again_once_five_minutes_have_passed_not_sooner():
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory(name="A"), QueueFactory(name="B"))
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    menu_sent_ago(ticket, timedelta(minutes=5) - timedelta(seconds=5))
    message_ingest(connection=connection, message=inbound(2, body="hã?"))
    assert said(ticket) == ["1 - A\n2 - B"]

    menu_sent_ago(ticket, timedelta(minutes=5) + timedelta(seconds=5))
    message_ingest(connection=connection, message=inbound(3, body="hã?"))
    assert said(ticket) == ["1 - A\n2 - B", "1 - A\n2 - B"]


def test_a_menu_of_more_than_99_queues_is_answered_with_three_digits():
    connection = ConnectionFactory()
    queues = Queue.objects.bulk_create(Queue(name=f"Q{n:03d}", ordering=n) for n in range(1, 102))
    connection.queues.add(*queues)
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    message_ingest(connection=connection, message=inbound(2, body="100"))

    ticket.refresh_from_db()
    assert ticket.queue.name == "Q100"


def test_a_ticket_routed_by_the_menu_leaves_the_unrouted_inbox_live(monkeypatch):
    told = []
    monkeypatch.setattr("tickets.conversation_flow.ticket_event", lambda **event: told.append(event))
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory(name="A", ordering=1), QueueFactory(name="B", ordering=2))
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    message_ingest(connection=connection, message=inbound(2, body="2"))

    assert told == [{"ticket": ticket, "event_type": "ticket.changed", "left": ["tickets.unrouted"]}]


def test_nothing_is_said_where_no_greeting_or_farewell_was_written(agent):
    connection = ConnectionFactory(greeting="", farewell="")
    connection.queues.add(QueueFactory(name="A", ordering=1), QueueFactory(name="B", ordering=2))
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    message_ingest(connection=connection, message=inbound(2, body="1"))  # queue A has no greeting
    ticket.refresh_from_db()
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)

    assert said(ticket) == ["1 - A\n2 - B"]


def test_queues_of_the_same_order_are_listed_by_name():
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory(name="Suporte"), QueueFactory(name="Financeiro"))

    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    assert said(ticket) == ["1 - Financeiro\n2 - Suporte"]
