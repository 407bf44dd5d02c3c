"""The inbox hears of new messages and ticket changes live, only for the tickets its user may see."""

import itertools

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
    settings.SOCKET_RECHECK_SECONDS = 0.2
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
    settings.SOCKET_RECHECK_SECONDS = 0.2

    async def run() -> dict:
        communicator = websocket("/ws/inbox/", agent_client)
        assert await communicator.connect() == (True, None)
        agent.is_active = False
        await sync_to_async(agent.save)()
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4401}
