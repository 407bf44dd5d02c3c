"""The inbox hears of new messages and ticket changes live, only for the tickets its user may see."""

import asyncio
import itertools
from functools import partial

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tests.tickets.test_inbound import inbound
from tests.websockets import websocket
from tickets.inbound import message_ingest
from tickets.models import Ticket
from tickets.realtime import ALL_TICKETS_GROUP, UNROUTED_GROUP
from tickets.services import ticket_assign, ticket_transfer

MARKERS = itertools.count(1)
pytestmark = [pytest.mark.usefixtures("channel_layer"), pytest.mark.django_db(transaction=True)]


async def events_after(communicator, change) -> list[dict]:
    """What the socket receives after ``change`` (run in Django's thread), up to a marker sent after it.

    The change publishes when it commits, before it returns (no session Publisher in the test's
    process); the marker follows it on the groups every inbox joins, and the socket gets its
    messages in the order they were published: whatever the change sent is before the marker.
    """
    await sync_to_async(change)()
    marker = {"type": "ticket.changed", "ticket": 0, "marker": next(MARKERS)}
    for group in (ALL_TICKETS_GROUP, UNROUTED_GROUP):  # a supervisor's inbox, an agent's inbox
        await get_channel_layer().group_send(group, marker)
    received = []
    while (event := await communicator.receive_json_from(timeout=10)).get("marker") != marker["marker"]:
        received.append(event)
    return received


def conversation(client, change) -> list[dict]:
    async def run() -> list[dict]:
        communicator = websocket("/ws/inbox/", client)
        assert await communicator.connect() == (True, None)
        received = await events_after(communicator, change)
        await communicator.disconnect()
        return received

    return async_to_sync(run)()


def test_an_anonymous_inbox_socket_is_closed_with_the_sign_in_code():
    async def run() -> dict:
        communicator = websocket("/ws/inbox/")
        await communicator.connect()
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4401}


def test_an_agent_hears_of_messages_in_their_queues_only(agent_client, agent):
    mine, theirs = QueueFactory(), QueueFactory()
    mine.members.add(agent)
    connection, other = ConnectionFactory(), ConnectionFactory()
    connection.queues.add(mine)
    other.queues.add(theirs)

    def two_customers_write() -> None:
        message_ingest(connection=connection, message=inbound(1, chat="5511911110000@c.us"))
        message_ingest(connection=other, message=inbound(2, chat="5511922220000@c.us"))

    received = conversation(agent_client, two_customers_write)

    ticket = Ticket.objects.get(connection=connection)
    assert [(event["type"], event["ticket"]) for event in received] == [("message.new", ticket.pk)]


def test_staff_hear_of_every_ticket(staff_client):
    connection = ConnectionFactory()
    connection.queues.add(QueueFactory())

    received = conversation(staff_client, lambda: message_ingest(connection=connection, message=inbound(1)))

    assert [event["type"] for event in received] == ["message.new"]


def test_an_agent_in_the_queue_and_assigned_hears_each_event_once(agent_client, agent):
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue, assignee=agent, status=Ticket.Status.OPEN)
    ticket.connection.queues.add(queue)

    def customer_writes() -> None:
        message_ingest(connection=ticket.connection, message=inbound(1, chat=ticket.contact.wa_id))

    received = conversation(agent_client, customer_writes)

    assert [(event["type"], event["ticket"]) for event in received] == [("message.new", ticket.pk)]


def test_agents_hear_when_a_ticket_leaves_their_queue_or_is_given_to_them(agent_client, agent):
    mine, theirs = QueueFactory(), QueueFactory()
    mine.members.add(agent)
    leaving = TicketFactory(queue=mine)
    coming = TicketFactory(queue=theirs)

    def changes() -> None:
        ticket_transfer(ticket=leaving, queue=theirs)
        ticket_assign(ticket=coming, assignee=agent)

    received = conversation(agent_client, changes)

    assert [(event["type"], event["ticket"]) for event in received] == [
        ("ticket.changed", leaving.pk),
        ("ticket.changed", coming.pk),
    ]


def test_joining_a_queue_applies_to_an_open_inbox_without_a_reload(agent_client, agent, settings):
    settings.INBOX_RECHECK_SECONDS = 0.2
    sales = QueueFactory()
    ticket = TicketFactory(queue=sales)

    async def run() -> list[dict]:
        communicator = websocket("/ws/inbox/", agent_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(sales.members.add)(agent)
        told = await communicator.receive_json_from(timeout=5)
        received = await events_after(communicator, lambda: ticket_assign(ticket=ticket, assignee=None))
        await communicator.disconnect()
        return [told, *received]

    received = async_to_sync(run)()

    assert [event["type"] for event in received] == ["inbox.refresh", "ticket.changed"]


def test_a_deactivated_agent_is_closed_out(agent_client, agent, settings):
    settings.INBOX_RECHECK_SECONDS = 0.2

    async def run() -> dict:
        communicator = websocket("/ws/inbox/", agent_client)
        assert await communicator.connect() == (True, None)
        agent.is_active = False
        await sync_to_async(agent.save)()
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4401}


def with_ticket_open(client, ticket_pk, change, *, said: tuple = (), language: str = "") -> list[dict]:
    """What the socket receives after ``change``, once its page has said that it shows ticket
    ``ticket_pk``, and then ``said`` (raw frames)."""

    async def run() -> list[dict]:
        communicator = websocket("/ws/inbox/", client, language=language)
        assert await communicator.connect() == (True, None)
        await communicator.send_json_to({"open": ticket_pk})
        for frame in said:
            await communicator.send_to(text_data=frame)
        await asyncio.sleep(0.05)  # the socket runs in this loop: it reads the frames before the change
        received = await events_after(communicator, change)
        await communicator.disconnect()
        return received

    return async_to_sync(run)()


def an_agent_in_a_queue_with_two_customers(agent):
    queue = QueueFactory()
    queue.members.add(agent)
    connection = ConnectionFactory()
    connection.queues.add(queue)
    return connection


def test_the_open_tickets_messages_come_with_their_html_in_the_readers_language(agent_client, agent):
    connection = an_agent_in_a_queue_with_two_customers(agent)
    message_ingest(connection=connection, message=inbound(1, chat="5511911110000@c.us"))
    opened = Ticket.objects.get()

    def two_customers_write() -> None:
        message_ingest(
            connection=connection, message=inbound(2, chat="5511911110000@c.us", body="Quero *pizza*")
        )
        message_ingest(connection=connection, message=inbound(3, chat="5511922220000@c.us", body="Outro"))

    received = with_ticket_open(agent_client, opened.pk, two_customers_write, language="pt-BR")

    [shown] = [event for event in received if event["ticket"] == opened.pk]
    [other] = [event for event in received if event["ticket"] != opened.pk]
    message = opened.messages.get(body="Quero *pizza*")
    assert (shown["ticket"], shown["message"]) == (opened.pk, message.pk)
    assert f'id="msg-{message.pk}"' in shown["html"]
    assert "Quero <strong>pizza</strong>" in shown["html"]  # as the page shows it, WhatsApp's bold
    assert ">Responder<" in shown["html"]  # the reader's language
    assert other["type"] == "message.new" and "html" not in other  # a ticket not open: ids only


def test_a_page_that_says_nonsense_gets_ids_and_keeps_its_socket(agent_client, agent):
    connection = an_agent_in_a_queue_with_two_customers(agent)
    message_ingest(connection=connection, message=inbound(1))
    opened = Ticket.objects.get()
    nonsense = ("not json", "[1]", '{"open": "1"}', '{"open": true}', '{"open": 1e3}', "{}")

    def customer_writes(number: int = 2) -> None:
        message_ingest(connection=connection, message=inbound(number))

    assert ["html" in event for event in with_ticket_open(agent_client, opened.pk, customer_writes)] == [True]
    for number, frame in enumerate(nonsense, start=3):
        received = with_ticket_open(agent_client, opened.pk, partial(customer_writes, number), said=(frame,))
        assert ["html" in event for event in received] == [False], frame
    received = with_ticket_open(agent_client, 2**63, partial(customer_writes, 99))  # beyond any id
    assert ["html" in event for event in received] == [False]


def test_an_event_for_a_ticket_the_agent_no_longer_sees_brings_no_html(agent_client, agent):
    """An event published before a transfer can arrive after it: the socket renders the message only
    if its user may see the ticket now."""
    connection = an_agent_in_a_queue_with_two_customers(agent)
    message_ingest(connection=connection, message=inbound(1))
    ticket = Ticket.objects.get()
    ticket_transfer(ticket=ticket, queue=QueueFactory())
    late = {"type": "message.new", "ticket": ticket.pk, "message": ticket.messages.earliest("pk").pk}

    received = with_ticket_open(
        agent_client,
        ticket.pk,
        lambda: async_to_sync(get_channel_layer().group_send)(UNROUTED_GROUP, late),
    )

    assert received == [late]
