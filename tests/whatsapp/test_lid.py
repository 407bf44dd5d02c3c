"""One person, one contact, whatever WhatsApp id they write from: end to end through the simulator
(its phones, a session worker, Chromium). The ingest's rules are tested without a browser in
tests/tickets/test_inbound_people.py."""

import pytest

from contacts.models import Contact
from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.outbound import message_send

pytestmark = pytest.mark.django_db(transaction=True)


def write(simulator, phone: str, body: str, **sender) -> str:
    status, answer = simulator.post(
        "/_sim/messages", {"account": phone, "name": "Maria", "body": body, **sender}
    )
    assert status == 201, answer
    return answer["id"]


def test_the_same_person_by_phone_then_by_lid_is_one_contact_and_one_ticket(engine, simulator, phone):
    customer, lid = f"55219{phone[-8:]}", f"1{phone[-8:]}0000042"
    engine.start_worker()
    engine.connected(phone)

    write(simulator, phone, "pelo número", **{"from": customer})
    wait_until(lambda: Message.objects.count() == 1, message="the message from the phone id")
    by_lid = write(simulator, phone, "pelo LID", **{"from": customer, "lid": lid})
    assert by_lid.startswith(f"false_{lid}@lid_")
    wait_until(lambda: Message.objects.count() == 2, timeout=20, message="the message from the LID")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (f"{customer}@c.us", f"{lid}@lid", customer)
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("body", flat=True)) == ["pelo número", "pelo LID"]
    assert ticket.unread_count == 2


def test_a_customer_whose_phone_whatsapp_hides_is_answered_at_their_lid(engine, simulator, agent, phone):
    lid = f"2{phone[-8:]}0000077"
    engine.start_worker()
    engine.connected(phone)

    write(simulator, phone, "meu número é segredo", lid=lid, phone_hidden=True)
    wait_until(lambda: Ticket.objects.exists(), message="the ticket")
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (f"{lid}@lid", None, "")

    reply = message_send(ticket=Ticket.objects.get(), author=agent, body="Olá! Como posso ajudar?")
    wait_until(
        lambda: Message.objects.get(pk=reply.pk).status == "sent", timeout=20, message="the reply to be sent"
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["to"], m["body"]) for m in outbox] == [(f"{lid}@lid", "Olá! Como posso ajudar?")]
    assert Message.objects.get(pk=reply.pk).wa_id == outbox[0]["id"]
    assert Contact.objects.count() == 1  # our reply heard back joins no one
