"""Our own replies heard back from WhatsApp (issue 9): each marks its queued row sent, never a second row.

The session may die after WhatsApp accepted a reply and before it marked the row sent; the
catch-up then reads the reply among the chat's messages. These tests hand the ingest that echo
as the session would, on SQLite and PostgreSQL (make test with DATABASE_URL).
"""

import pytest

from tests.factories import MessageFactory, TicketFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import catch_up_from, chat_messages_ingest
from tickets.models import Message
from tickets.outbound import message_mark_failed, message_mark_sent, message_send
from whatsapp.models import DeadLetter
from whatsapp.wire import client_message_id

pytestmark = pytest.mark.django_db
Status = Message.Status


def echo_of(reply: Message):
    """The reply as the page lists it once WhatsApp accepted it: sent with our client id."""
    chat = reply.ticket.contact.wa_id
    return inbound(
        0, chat=chat, from_me=True, body=reply.body, id=f"true_{chat}_{client_message_id(reply.pk)}"
    )


@pytest.fixture
def reply(agent):
    return message_send(ticket=TicketFactory(), author=agent, body="Já volto")


def test_the_echo_of_a_queued_reply_marks_it_sent_and_stores_nothing_new(reply):
    echo = echo_of(reply)

    stored = chat_messages_ingest(connection=reply.connection, chat=echo.chat, messages=[echo])

    assert stored == []
    reply.refresh_from_db()
    assert (reply.status, reply.wa_id) == (Status.SENT, echo.id)
    assert Message.objects.filter(ticket=reply.ticket).count() == 1


def test_the_echo_heard_again_after_the_mark_changes_nothing(reply):
    echo = echo_of(reply)
    message_mark_sent(message_id=reply.pk, wa_id=echo.id)

    assert chat_messages_ingest(connection=reply.connection, chat=echo.chat, messages=[echo]) == []
    assert Message.objects.filter(ticket=reply.ticket).count() == 1


def test_an_echo_in_a_batch_leaves_the_customers_messages_to_be_stored(reply):
    chat = reply.ticket.contact.wa_id
    batch = [inbound(1, chat=chat), echo_of(reply), inbound(2, chat=chat)]

    stored = chat_messages_ingest(connection=reply.connection, chat=chat, messages=batch)

    assert [message.wa_id for message in stored] == [batch[0].id, batch[2].id]
    assert Message.objects.get(pk=reply.pk).status == Status.SENT


def test_a_message_with_a_client_id_of_another_connection_is_stored_as_a_message(reply):
    other = TicketFactory()
    echo = echo_of(reply)

    stored = chat_messages_ingest(connection=other.connection, chat=echo.chat, messages=[echo])

    assert [message.wa_id for message in stored] == [echo.id]
    assert Message.objects.get(pk=reply.pk).status == Status.QUEUED


def test_marking_sent_where_an_echo_was_stored_as_its_own_row_never_fails_the_unique_id(reply):
    """What an earlier version left: the echo stored, then the mark hit unique (connection, wa_id)."""
    echo_id = echo_of(reply).id
    MessageFactory(ticket=reply.ticket, from_me=True, wa_id=echo_id, status=Status.SENT, body=reply.body)

    message_mark_sent(message_id=reply.pk, wa_id=echo_id)

    assert list(Message.objects.filter(ticket=reply.ticket).values_list("pk", "status")) == [
        (reply.pk, Status.SENT)
    ]


def test_a_reply_marked_sent_by_its_echo_is_not_marked_failed_by_a_late_send_error(reply):
    stale = Message.objects.get(pk=reply.pk)
    echo = echo_of(reply)
    chat_messages_ingest(connection=reply.connection, chat=echo.chat, messages=[echo])

    message_mark_failed(message_id=stale.pk, error="Timeout")

    assert Message.objects.get(pk=reply.pk).status == Status.SENT


def test_the_catch_up_starts_at_the_first_message_neither_stored_nor_a_dead_letter():
    ticket = TicketFactory()
    chat = ticket.contact.wa_id
    listed = [inbound(n, chat=chat) for n in range(6)]
    chat_messages_ingest(connection=ticket.connection, chat=chat, messages=listed[:2])
    DeadLetter.objects.create(
        connection=ticket.connection, chat=chat, wa_id=listed[2].id, error_type="ValueError", error="x"
    )
    # a later message stored before an earlier one failed (a crash, out-of-order times)
    chat_messages_ingest(connection=ticket.connection, chat=chat, messages=[listed[4]])

    start = catch_up_from(connection=ticket.connection, messages=listed)

    assert [message.id for message in start] == [m.id for m in listed[3:]]


def test_the_catch_up_of_a_chat_stored_to_its_end_is_empty():
    ticket = TicketFactory()
    chat = ticket.contact.wa_id
    listed = [inbound(n, chat=chat) for n in range(3)]
    chat_messages_ingest(connection=ticket.connection, chat=chat, messages=listed)

    assert catch_up_from(connection=ticket.connection, messages=listed) == []


def mine_from_the_phone(reply: Message, *, naming: int, number: int):
    """A message typed on the phone itself whose id happens to end like one made for row ``naming``."""
    chat = reply.ticket.contact.wa_id
    return inbound(
        number, chat=chat, from_me=True, body="do celular", id=f"true_{chat}_{client_message_id(naming)}"
    )


def test_an_echo_after_one_that_names_no_reply_of_ours_is_still_matched(reply):
    unknown = mine_from_the_phone(reply, naming=reply.pk + 1000, number=1)

    stored = chat_messages_ingest(
        connection=reply.connection, chat=unknown.chat, messages=[unknown, echo_of(reply)]
    )

    assert [message.wa_id for message in stored] == [unknown.id]
    assert Message.objects.get(pk=reply.pk).status == Status.SENT


def test_a_message_from_the_phone_whose_id_names_a_customers_message_is_stored(reply):
    customers = MessageFactory(ticket=reply.ticket, from_me=False)
    mine = mine_from_the_phone(reply, naming=customers.pk, number=1)

    stored = chat_messages_ingest(connection=reply.connection, chat=mine.chat, messages=[mine])

    assert [message.wa_id for message in stored] == [mine.id]


@pytest.mark.parametrize("naming", [2**63, 2**64 - 1, 0])
def test_a_message_whose_id_names_a_row_no_table_can_have_is_stored_as_not_ours(reply, naming):
    """16 hex digits reach 2**64 - 1: beyond 2**63 - 1 the lookup overflowed (a dead letter, for ever)."""
    phone = mine_from_the_phone(reply, naming=naming, number=1)

    stored = chat_messages_ingest(connection=reply.connection, chat=phone.chat, messages=[phone])

    assert [(message.wa_id, message.body) for message in stored] == [(phone.id, "do celular")]
    assert not DeadLetter.objects.exists()
