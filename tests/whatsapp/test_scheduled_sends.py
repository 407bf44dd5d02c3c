"""Send later through the real engine: a scheduled reply reaches the phone at its time, once,
also when no session ran at that time (simulator phones, worker processes, Chromium)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.services import ticket_reply
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)
CUSTOMER = "5511988886666"


def open_ticket(engine, simulator, phone: str) -> tuple[Connection, Ticket]:
    connection = engine.connected(phone, "Agenda")
    status, answer = simulator.post("/_sim/messages", {"account": phone, "from": CUSTOMER, "body": "Olá"})
    assert status == 201, answer
    wait_until(lambda: Ticket.objects.exists(), message="the ticket")
    return connection, Ticket.objects.get()


def sent_to_phone(simulator, phone: str, body: str) -> list[dict]:
    return [m for m in simulator.get(f"/_sim/outbox?account={phone}")["messages"] if m["body"] == body]


def test_a_scheduled_reply_goes_at_its_time_not_before_and_once(engine, simulator, staff, phone):
    # A heartbeat far longer than production's 15 s: the session looks at the outbox when the reply
    # comes due, not at its next beat.
    engine.start_worker(WHATSAPP_HEARTBEAT="60", WHATSAPP_LEASE="180")
    _connection, ticket = open_ticket(engine, simulator, phone)
    send_at = timezone.now() + timedelta(seconds=5)

    reply = ticket_reply(ticket=ticket, by=staff, body="Bom dia, agendada", send_at=send_at)

    wait_until(lambda: sent_to_phone(simulator, phone, reply.body), timeout=30, message="the scheduled reply")
    [sent] = sent_to_phone(simulator, phone, reply.body)
    assert send_at.timestamp() <= sent["received_at"] < send_at.timestamp() + 6
    wait_until(lambda: Message.objects.get(pk=reply.pk).status == "sent", message="the reply marked sent")
    reply.refresh_from_db()
    assert reply.wa_id == sent["id"]
    ticket.refresh_from_db()
    assert ticket.last_message_preview == reply.body
    assert len(sent_to_phone(simulator, phone, reply.body)) == 1


def test_a_reply_due_while_the_worker_was_stopped_goes_once_when_it_is_back(engine, simulator, staff, phone):
    engine.start_worker()
    connection, ticket = open_ticket(engine, simulator, phone)
    engine.let_login_settle(connection)
    reply = ticket_reply(
        ticket=ticket, by=staff, body="Enquanto parado", send_at=timezone.now() + timedelta(seconds=4)
    )

    engine.workers[0].stop()
    assert Message.objects.get(pk=reply.pk).status == "scheduled"
    wait_until(lambda: timezone.now() > reply.send_at, message="its time, with no session running")
    engine.start_worker()

    engine.wait_for_status(connection, Connection.Status.CONNECTED)
    wait_until(lambda: Message.objects.get(pk=reply.pk).status == "sent", timeout=30, message="the reply")
    assert len(sent_to_phone(simulator, phone, reply.body)) == 1
