"""Out of office: a ticket that enters a closed queue hears the queue's out-of-hours message once,
instead of the greeting, and waits there; an open queue greets as before. Through the ingest (the
customer's messages as the session hands them over) and the transfer."""

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import ConnectionFactory, QueueFactory
from tests.tickets.test_conversation_flow import said
from tests.tickets.test_inbound import inbound
from tickets.business_time import DAYS
from tickets.inbound import message_ingest
from tickets.models import Message, Ticket
from tickets.services import ticket_transfer

pytestmark = pytest.mark.django_db

CLOSED: dict = {}  # no day open: the queue is closed all week
OPEN = {day: [["00:00", "24:00"]] for day in DAYS}
AWAY = "Estamos fechados, {{name}}. Protocolo {{protocol}}: respondemos às 9h."


def today() -> str:
    return timezone.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date().isoformat()


def single_queue_connection(**queue_fields):
    connection = ConnectionFactory(greeting="Olá {{name}}!")
    connection.queues.add(QueueFactory(out_of_hours_message=AWAY, **queue_fields))
    return connection


def test_a_closed_queue_answers_once_with_its_out_of_hours_message_instead_of_the_greeting():
    connection = single_queue_connection(business_hours=CLOSED)

    ticket = message_ingest(connection=connection, message=inbound(1, body="oi")).ticket
    message_ingest(connection=connection, message=inbound(2, body="alguém aí?"))

    ticket.refresh_from_db()
    assert said(ticket) == [f"Estamos fechados, Maria. Protocolo {ticket.pk}: respondemos às 9h."]
    reply = ticket.messages.get(from_me=True)
    assert (reply.author, reply.status) == (None, Message.Status.QUEUED)
    assert ticket.out_of_hours_sent_at is not None
    assert (ticket.status, ticket.assignee, ticket.first_response_at) == (Ticket.Status.PENDING, None, None)


def test_an_open_queue_greets_as_before():
    connection = single_queue_connection(business_hours=OPEN)

    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    message_ingest(connection=connection, message=inbound(2))

    ticket.refresh_from_db()
    assert said(ticket) == ["Olá Maria!"]
    assert ticket.out_of_hours_sent_at is None


def test_a_holiday_is_closed():
    connection = single_queue_connection(business_hours=OPEN, holidays=[today()])

    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    assert said(ticket) == [f"Estamos fechados, Maria. Protocolo {ticket.pk}: respondemos às 9h."]


def test_a_closed_queue_without_a_message_greets_as_before():
    connection = ConnectionFactory(greeting="Olá {{name}}!")
    connection.queues.add(QueueFactory(business_hours=CLOSED))

    ticket = message_ingest(connection=connection, message=inbound(1)).ticket

    assert said(ticket) == ["Olá Maria!"]


def test_the_menus_answer_to_a_closed_queue_gets_its_message_instead_of_its_greeting():
    connection = ConnectionFactory(greeting="Bem-vindo!")
    sales = QueueFactory(name="Vendas", ordering=1, business_hours=OPEN, greeting="Vendas aqui.")
    support = QueueFactory(
        name="Suporte", ordering=2, business_hours=CLOSED, greeting="Suporte aqui.", out_of_hours_message=AWAY
    )
    connection.queues.add(sales, support)

    ticket = message_ingest(connection=connection, message=inbound(1, body="oi")).ticket
    message_ingest(connection=connection, message=inbound(2, body="2"))
    message_ingest(connection=connection, message=inbound(3, body="1"))  # no menu now: a plain message

    ticket.refresh_from_db()
    assert ticket.queue == support and ticket.status == Ticket.Status.PENDING
    assert said(ticket) == [
        "Bem-vindo!\n1 - Vendas\n2 - Suporte",
        f"Estamos fechados, Maria. Protocolo {ticket.pk}: respondemos às 9h.",
    ]


def test_a_blocked_contact_gets_nothing():
    connection = single_queue_connection(business_hours=CLOSED)
    first = message_ingest(connection=connection, message=inbound(1)).ticket
    first.contact.blocked = True
    first.contact.save()
    Ticket.objects.filter(pk=first.pk).update(out_of_hours_sent_at=None)
    Message.objects.filter(ticket=first, from_me=True).delete()

    ticket_transfer(ticket=Ticket.objects.get(pk=first.pk), queue=connection.queues.get())

    assert said(first) == []


def test_a_transfer_to_a_closed_queue_tells_the_customer_once(agent):
    connection = single_queue_connection(business_hours=OPEN)
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    night = QueueFactory(name="Noite", business_hours=CLOSED, out_of_hours_message="Só amanhã.")
    day = QueueFactory(name="Dia", business_hours=OPEN, out_of_hours_message="Fechado.")

    ticket_transfer(ticket=ticket, queue=night, by=agent)
    ticket_transfer(ticket=ticket, queue=day, by=agent)  # open: nothing new
    ticket_transfer(ticket=ticket, queue=night, by=agent)  # told already
    ticket_transfer(ticket=ticket, assignee=agent, queue=night, by=agent)  # to an agent: theirs

    assert said(ticket) == ["Olá Maria!", "Só amanhã."]


def test_the_schedule_is_read_in_the_helpdesks_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # 12 hours from São Paulo's: never the same hour in both
    tokyo, sao_paulo = (
        single_queue_connection(business_hours={day: this_hour(zone) for day in DAYS})
        for zone in ("Asia/Tokyo", "America/Sao_Paulo")
    )

    open_now = message_ingest(connection=tokyo, message=inbound(1)).ticket
    closed_now = message_ingest(connection=sao_paulo, message=inbound(2)).ticket

    assert said(open_now) == ["Olá Maria!"]
    assert said(closed_now) == [f"Estamos fechados, Maria. Protocolo {closed_now.pk}: respondemos às 9h."]


def this_hour(zone: str) -> list[list[str]]:
    hour = timezone.now().astimezone(ZoneInfo(zone)).hour
    return [[f"{hour:02d}:00", f"{hour + 1:02d}:00"]]
