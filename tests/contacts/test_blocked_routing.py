"""A blocked contact is sent nothing: no greeting, menu, queue greeting or farewell; their messages are still stored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.services import contact_block, contact_upsert
from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory
from tests.tickets.test_conversation_flow import said
from tests.tickets.test_inbound import CUSTOMER, inbound
from tickets.audit.stale import tickets_close_stale
from tickets.inbound import message_ingest
from tickets.models import Ticket
from tickets.services import ticket_close
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def test_a_blocked_contact_gets_no_greeting_or_menu_but_their_messages_are_kept():
    contact_block(contact=contact_upsert(wa_id=CUSTOMER), blocked=True)
    connection = ConnectionFactory(greeting="Olá {{name}}!")
    connection.queues.add(QueueFactory(name="A"), QueueFactory(name="B"))

    ticket = message_ingest(connection=connection, message=inbound(1, body="oi")).ticket

    assert said(ticket) == []
    assert list(ticket.messages.values_list("body", flat=True)) == ["oi"]


def test_a_contact_blocked_after_the_menu_gets_no_repeat_nor_queue_greeting():
    connection = ConnectionFactory()
    connection.queues.add(
        QueueFactory(name="A", ordering=1, greeting="A aqui"), QueueFactory(name="B", ordering=2)
    )
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    contact_block(contact=ticket.contact, blocked=True)
    Ticket.objects.filter(pk=ticket.pk).update(menu_sent_at=timezone.now() - timedelta(minutes=6))

    message_ingest(connection=connection, message=inbound(2, body="hã?"))
    message_ingest(connection=connection, message=inbound(3, body="1"))

    ticket.refresh_from_db()
    assert said(ticket) == ["1 - A\n2 - B"]  # the first menu only
    assert ticket.queue.name == "A"  # the answer still routes the ticket


def test_a_blocked_contact_gets_no_farewell(agent):
    connection = ConnectionFactory(farewell="Obrigado!")
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    contact_block(contact=ticket.contact, blocked=True)

    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)

    assert said(ticket) == []


def test_the_audit_closes_a_blocked_contacts_stale_ticket_without_a_farewell():
    connection = ConnectionFactory(status=Connection.Status.CONNECTED, farewell="Bye")
    blocked = TicketFactory(
        connection=connection,
        contact=ContactFactory(blocked=True),
        last_message_at=timezone.now() - timedelta(hours=30),
    )
    reached = TicketFactory(connection=connection, last_message_at=timezone.now() - timedelta(hours=30))

    result = tickets_close_stale(
        before=timezone.now() - timedelta(hours=24), ignore_waiting=False, farewell=True
    )

    assert (result.closed, result.farewells_queued) == (2, 1)
    assert (said(blocked), said(reached)) == ([], ["Bye"])
