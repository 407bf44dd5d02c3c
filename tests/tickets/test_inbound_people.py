"""One person, one contact, one open ticket, whatever WhatsApp id they write from: the ingest finds
the contact by either of a person's addresses (the phone's id or the LID), joins an address learned,
merges two contacts that turn out to be one person, and refuses a mapping that would join two phone
numbers. The session tells who a chat is (whatsapp/addresses.py); here the messages carry it as the
session hands them over. End to end through the simulator: tests/whatsapp/test_lid.py."""

import logging
from dataclasses import replace

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.factories import ConnectionFactory, ContactFactory, TicketFactory
from tests.tickets.test_inbound import inbound, statements
from tickets.inbound import chat_messages_ingest
from tickets.models import Message, Ticket
from whatsapp.wire import InboundMessage, Person

PHONE, LID = "5511988887777", "123456789012345"
PHONE_ID, LID_ID = f"{PHONE}@c.us", f"{LID}@lid"
MAPPED = Person(address=PHONE_ID, alias=LID_ID, phone=PHONE)  # getPnLidEntry told both
HIDDEN = Person(address=LID_ID)  # WhatsApp hides the phone: the LID alone


def heard(number: int, *, chat: str, person: Person | None = None, **options) -> InboundMessage:
    """A message of ``chat`` as the session hands it over once it asked WhatsApp who the chat is
    (without ``person``: what the chat's id alone tells)."""
    message = inbound(number, chat=chat, **options)
    return replace(message, person=person) if person else message


def ingest(connection, *messages: InboundMessage) -> list[Message]:
    return chat_messages_ingest(connection=connection, chat=messages[0].chat, messages=list(messages))


@pytest.fixture
def connection(db):
    return ConnectionFactory()


def test_the_same_person_by_phone_then_by_lid_is_one_contact_and_one_ticket(connection):
    ingest(connection, heard(1, chat=PHONE_ID, body="pelo número"))

    ingest(connection, heard(2, chat=LID_ID, person=MAPPED, body="pelo LID"))

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (PHONE_ID, LID_ID, PHONE)
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("body", flat=True)) == ["pelo número", "pelo LID"]
    assert ticket.unread_count == 2


def test_a_customer_whose_phone_is_hidden_has_no_phone_and_is_answered_at_the_lid(connection):
    ingest(connection, heard(1, chat=LID_ID))  # the chat's id alone: the LID, no mapping

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (LID_ID, None, "")  # not the LID's digits
    assert contact.display_name == "Maria"


def test_a_hidden_customer_whose_phone_is_revealed_keeps_their_contact_and_ticket(connection):
    ingest(connection, heard(1, chat=LID_ID, person=HIDDEN, body="escondido"))

    ingest(connection, heard(2, chat=PHONE_ID, person=MAPPED, body="agora pelo número"))

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (PHONE_ID, LID_ID, PHONE)  # replies: the phone
    assert list(Ticket.objects.get().messages.values_list("body", flat=True)) == [
        "escondido",
        "agora pelo número",
    ]


def test_a_phone_contact_and_a_lid_contact_of_one_person_are_merged_into_the_phone_one(connection):
    """Two contacts made before WhatsApp told they are one person: the mapping merges them through
    tickets.merging.contact_merge (the phone's contact kept, its tickets and the LID's together)."""
    ingest(connection, heard(1, chat=PHONE_ID, body="pelo número"))
    ingest(connection, heard(2, chat=LID_ID, person=HIDDEN, body="pelo LID escondido"))
    assert Contact.objects.count() == 2
    phone_contact = Contact.objects.get(wa_id=PHONE_ID)

    ingest(connection, heard(3, chat=LID_ID, person=MAPPED, body="agora mapeado"))

    contact = Contact.objects.get()
    assert (contact.pk, contact.wa_id, contact.alias, contact.phone) == (
        phone_contact.pk,
        PHONE_ID,
        LID_ID,
        PHONE,
    )
    open_tickets = Ticket.objects.exclude(status=Ticket.Status.CLOSED)
    assert open_tickets.count() == 1
    customer_said = Message.objects.filter(ticket__contact=contact).exclude(kind=Message.Kind.SYSTEM)
    assert set(customer_said.values_list("body", flat=True)) == {
        "pelo número",
        "pelo LID escondido",
        "agora mapeado",
    }
    closed = Ticket.objects.get(status=Ticket.Status.CLOSED)  # the LID's, closed by the merge with a line
    assert closed.messages.filter(kind=Message.Kind.SYSTEM).exists()
    assert open_tickets.get().messages.filter(body="agora mapeado").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer")
def test_a_message_from_the_lid_of_a_known_contact_costs_three_queries():
    """The lookup by either address costs nothing more: a LID the contact holds finds its open ticket in
    the one query a phone id does, whether the session knows the mapping or only the LID."""
    connection = ConnectionFactory()
    ingest(connection, heard(1, chat=LID_ID, person=MAPPED))

    with CaptureQueriesContext(db) as mapped:
        ingest(connection, heard(2, chat=LID_ID, person=MAPPED))
    with CaptureQueriesContext(db) as lid_alone:
        ingest(connection, heard(3, chat=LID_ID, person=HIDDEN))
    with CaptureQueriesContext(db) as by_phone:
        ingest(connection, heard(4, chat=PHONE_ID))

    assert (
        statements(mapped) == statements(lid_alone) == statements(by_phone) == ["SELECT", "UPDATE", "INSERT"]
    )
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.alias, contact.phone) == (
        PHONE_ID,
        LID_ID,
        PHONE,
    )  # the LID alone changed nothing
    assert Ticket.objects.get().unread_count == 4


def test_a_mapping_that_would_join_two_phone_numbers_is_refused_and_logged(connection, caplog):
    """WhatsApp (or a page that lies) says the LID of one customer is another customer's phone: nobody
    is joined; the message goes to the contact of the chat it came from."""
    other_phone = "5521977776666"
    ingest(connection, heard(1, chat=LID_ID, person=MAPPED, body="Maria"))
    ingest(connection, heard(2, chat=f"{other_phone}@c.us", body="João"))
    lying = Person(address=f"{other_phone}@c.us", alias=LID_ID, phone=other_phone)

    with caplog.at_level(logging.WARNING, logger="tickets.inbound"):
        ingest(connection, heard(3, chat=LID_ID, person=lying, body="de novo pelo LID"))
        ingest(connection, heard(4, chat=f"{other_phone}@c.us", person=lying, body="João de novo"))

    maria, joao = Contact.objects.get(phone=PHONE), Contact.objects.get(phone=other_phone)
    assert (maria.wa_id, maria.alias, joao.wa_id, joao.alias) == (
        PHONE_ID,
        LID_ID,
        f"{other_phone}@c.us",
        None,
    )
    assert list(Message.objects.filter(ticket__contact=maria).values_list("body", flat=True)) == [
        "Maria",
        "de novo pelo LID",
    ]
    assert list(Message.objects.filter(ticket__contact=joao).values_list("body", flat=True)) == [
        "João",
        "João de novo",
    ]
    refusals = [record for record in caplog.records if record.getMessage().startswith("refused to join")]
    assert len(refusals) == 2


def test_a_refused_mapping_of_a_new_lid_makes_a_contact_without_a_phone(connection):
    """The phone already has another LID: the new LID is not joined to it, and its contact shows no
    phone rather than the one WhatsApp claimed."""
    ingest(connection, heard(1, chat=LID_ID, person=MAPPED))
    other_lid = "555555555555555@lid"

    ingest(
        connection, heard(2, chat=other_lid, person=Person(address=PHONE_ID, alias=other_lid, phone=PHONE))
    )

    stranger = Contact.objects.get(wa_id=other_lid)
    assert (stranger.alias, stranger.phone) == (None, "")
    assert Contact.objects.get(wa_id=PHONE_ID).alias == LID_ID
    assert Ticket.objects.count() == 2


def test_a_contact_typed_by_an_agent_is_found_when_the_customer_writes_from_their_lid(connection):
    contact = ContactFactory(phone=PHONE, wa_id=PHONE_ID, push_name="")
    ticket = TicketFactory(contact=contact, connection=connection, status=Ticket.Status.OPEN)

    ingest(connection, heard(1, chat=LID_ID, person=MAPPED))

    assert Message.objects.get().ticket == ticket
    contact.refresh_from_db()
    assert (contact.alias, contact.push_name) == (LID_ID, "Maria")
