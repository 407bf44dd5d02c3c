"""The satisfaction survey end to end: simulator phone, a session worker with its Chromium, the real ingest."""

import pytest

from tests.processes import wait_until
from tests.whatsapp.test_messages import CUSTOMER, write
from tickets.models import Message, Milestone, Ticket
from tickets.services import ticket_close, ticket_reply
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)
QUESTION = "De 1 a 5, {{name}}, como foi o atendimento?"


def outbox(simulator, phone: str) -> list[str]:
    """What reached the customer's phone from the company number, in order."""
    messages = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    return [m["body"] for m in messages if m["to"] == f"{CUSTOMER}@c.us"]


def test_the_customer_answers_5_on_the_phone_and_the_ticket_stays_closed(engine, simulator, staff, phone):
    engine.start_worker()
    connection = engine.connected(phone)
    Connection.objects.filter(pk=connection.pk).update(csat_enabled=True, csat_question=QUESTION)
    write(simulator, phone, "Meu pedido não chegou")
    ticket = wait_until(Ticket.objects.first, timeout=20, message="the ticket")
    ticket_reply(ticket=ticket, by=staff, body="Chegou agora, confira!")

    ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=staff, reason=Ticket.CloseReason.AGENT)

    asked = "De 1 a 5, Maria, como foi o atendimento?"
    wait_until(lambda: asked in outbox(simulator, phone), timeout=30, message="the question on the phone")
    write(simulator, phone, "5")

    rated = wait_until(
        lambda: Ticket.objects.filter(pk=ticket.pk, csat_rating=5).first(), timeout=30, message="the rating"
    )
    assert (rated.status, rated.unread_count, rated.reopen_count) == (Ticket.Status.CLOSED, 0, 0)
    assert Ticket.objects.count() == 1
    assert list(rated.messages.filter(from_me=False).values_list("body", flat=True)) == [
        "Meu pedido não chegou",
        "5",
    ]
    assert Milestone.objects.get(ticket=rated, kind=Milestone.Kind.RATED).agent == staff
    wait_until(
        lambda: outbox(simulator, phone)[-1:] == ["Thank you for your rating!"],
        timeout=30,
        message="the thanks on the phone",
    )
    assert outbox(simulator, phone) == ["Chegou agora, confira!", asked, "Thank you for your rating!"]
    assert not Message.objects.filter(status=Message.Status.FAILED).exists()
