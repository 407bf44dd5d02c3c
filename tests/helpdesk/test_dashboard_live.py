"""The overview hears that its figures changed, over an authenticated websocket.

Each test runs its websocket conversation in one event loop (``async_to_sync``).
The tests commit for real (``transaction=True``): consumers read the database
from their own threads, as they do in production, and events wait for commits.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk import consumers
from helpdesk.realtime import DASHBOARD_GROUP
from tests.factories import QueueFactory, TicketFactory, UserFactory
from tests.websockets import websocket
from tickets.models import Ticket
from tickets.queues import queue_update
from tickets.services import ticket_close

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


def test_an_agents_page_hears_that_the_figures_changed_when_a_ticket_closes_and_nothing_more(
    agent_client, agent, staff
):
    """The message names no figure: the page reads them again with its user's rights (test_overview.py)."""
    queue = QueueFactory()
    queue.members.add(agent)
    mine = TicketFactory(queue=queue, status=Ticket.Status.OPEN)

    async def conversation() -> dict:
        communicator = websocket("/ws/dashboard/", agent_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(ticket_close)(ticket=mine, by=staff, reason=Ticket.CloseReason.AGENT)
        told = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return told

    assert async_to_sync(conversation)() == {"type": "dashboard.changed"}


def test_a_burst_of_changes_tells_the_page_once(agent_client, monkeypatch):
    monkeypatch.setattr(consumers, "DASHBOARD_DEBOUNCE_SECONDS", 0.3)

    async def conversation() -> tuple[dict, bool, dict]:
        communicator = websocket("/ws/dashboard/", agent_client)
        assert await communicator.connect() == (True, None)
        for _ in range(20):
            await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "dashboard.changed"})
        told = await communicator.receive_json_from(timeout=5)
        quiet = await communicator.receive_nothing(timeout=0.6)
        await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "dashboard.changed"})
        again = await communicator.receive_json_from(timeout=5)  # a change after the burst: told again
        await communicator.disconnect()
        return told, quiet, again

    told, quiet, again = async_to_sync(conversation)()

    assert told == again == {"type": "dashboard.changed"}
    assert quiet


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


def test_a_queues_new_member_reaches_the_wall(staff):
    """The wall lists a queue's members and counts those online: a change of members tells it."""
    queue = QueueFactory()
    ana = UserFactory()

    async def told() -> tuple[dict, dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(DASHBOARD_GROUP, channel)
        await sync_to_async(queue_update)(queue=queue, changes={"members": [ana]})
        await sync_to_async(queue_update)(queue=queue, changes={"members": [ana]})  # no change: quiet
        await layer.group_send(DASHBOARD_GROUP, {"type": "dashboard.changed", "marker": True})
        first = await asyncio.wait_for(layer.receive(channel), timeout=5)
        second = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.group_discard(DASHBOARD_GROUP, channel)
        return first, second

    assert async_to_sync(told)() == (
        {"type": "dashboard.changed"},
        {"type": "dashboard.changed", "marker": True},
    )
