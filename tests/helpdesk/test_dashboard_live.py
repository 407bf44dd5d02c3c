"""The overview's figures follow ticket changes live, over an authenticated websocket.

Each test runs its websocket conversation in one event loop (``async_to_sync``).
The tests commit for real (``transaction=True``): consumers read the database
from their own threads, as they do in production, and events wait for commits.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk.realtime import DASHBOARD_GROUP
from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tests.websockets import websocket
from tickets.models import Ticket
from tickets.services import ticket_close
from whatsapp.models import Connection

pytestmark = [pytest.mark.usefixtures("channel_layer"), pytest.mark.django_db(transaction=True)]


def test_an_anonymous_websocket_is_closed_with_the_sign_in_code():
    async def conversation() -> dict:
        communicator = websocket("/ws/dashboard/")
        await communicator.connect()
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(conversation)() == {"type": "websocket.close", "code": 4401}


def test_a_websocket_from_another_site_is_refused(agent_client):
    connected, _ = async_to_sync(
        websocket("/ws/dashboard/", agent_client, origin="https://evil.example").connect
    )()

    assert connected is False


def test_an_agent_sees_their_figures_change_when_a_ticket_closes(agent_client, agent, staff):
    queue = QueueFactory()
    queue.members.add(agent)
    mine = TicketFactory(queue=queue, status=Ticket.Status.OPEN)
    TicketFactory(queue=queue, status=Ticket.Status.PENDING)
    TicketFactory(queue=QueueFactory(), status=Ticket.Status.OPEN)  # another queue: not counted

    async def conversation() -> dict:
        communicator = websocket("/ws/dashboard/", agent_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(ticket_close)(ticket=mine, by=staff, reason=Ticket.CloseReason.AGENT)
        figures = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return figures

    assert async_to_sync(conversation)() == {"tickets": {"pending": 1, "open": 0}}


def test_staff_also_see_the_connections_by_status(staff_client, staff):
    ticket = TicketFactory(
        status=Ticket.Status.PENDING, connection=ConnectionFactory(status=Connection.Status.QR)
    )

    async def conversation() -> dict:
        communicator = websocket("/ws/dashboard/", staff_client)
        await communicator.connect()
        await sync_to_async(ticket_close)(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)
        figures = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return figures

    assert async_to_sync(conversation)() == {
        "tickets": {"pending": 0, "open": 0},
        "connections": [["QR", "Waiting for QR scan", 1]],
    }


def test_nothing_is_sent_for_a_change_that_is_rolled_back(staff):
    ticket = TicketFactory(status=Ticket.Status.OPEN)

    def close_then_roll_back() -> None:
        with transaction.atomic():
            ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT)
            transaction.set_rollback(True)

    async def published() -> dict:
        """The first message on the dashboard's group after the rollback: a marker sent after it
        arrives first unless the rolled-back change published something."""
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(DASHBOARD_GROUP, channel)
        await sync_to_async(close_then_roll_back)()
        await layer.group_send(DASHBOARD_GROUP, {"type": "dashboard.changed", "marker": True})
        first = await layer.receive(channel)
        await layer.group_discard(DASHBOARD_GROUP, channel)
        return first

    assert async_to_sync(published)() == {"type": "dashboard.changed", "marker": True}
