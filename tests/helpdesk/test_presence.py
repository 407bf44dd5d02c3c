"""An agent's presence follows their inbox pages (real websockets), their activity and the header's
switch; every change reaches the team's wall live (helpdesk/presence.py, tickets/consumers.py)."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpdesk.models import AgentSocket, AgentState
from helpdesk.presence import SOCKET_FRESH_SECONDS, Presence, presence_of
from tests.factories import QueueFactory, StaffFactory, TicketFactory
from tests.websockets import websocket
from tickets.models import Queue, Ticket

pytestmark = [pytest.mark.usefixtures("channel_layer"), pytest.mark.django_db(transaction=True)]


def presence(user) -> Presence:
    return presence_of(user_ids=[user.pk])[user.pk]


def idle(agent, settings) -> None:
    """The agent did nothing for longer than AGENT_AWAY_MINUTES."""
    AgentState.objects.filter(user=agent).update(
        last_activity_at=timezone.now() - timedelta(minutes=settings.AGENT_AWAY_MINUTES + 1)
    )


async def becomes(user, expected: Presence, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while (now := await sync_to_async(presence)(user)) != expected and time.monotonic() < deadline:
        await sync_to_async(time.sleep)(0.05)
    assert now == expected


def test_online_while_an_inbox_page_is_open_offline_once_the_last_closes_and_the_wall_hears_it(
    agent_client, agent
):
    supervisor = Client()
    supervisor.force_login(StaffFactory())

    async def run() -> list:
        wall = websocket("/ws/dashboard/", supervisor)
        assert await wall.connect() == (True, None)
        first, second = websocket("/ws/inbox/", agent_client), websocket("/ws/inbox/", agent_client)
        assert await first.connect() == (True, None)
        await becomes(agent, Presence.ONLINE)
        told = [await wall.receive_json_from(timeout=5)]  # the wall's figures, read again
        assert await second.connect() == (True, None)
        await first.disconnect()
        await becomes(agent, Presence.ONLINE, within=0)  # another page is still open
        await second.disconnect()
        await becomes(agent, Presence.OFFLINE)
        told.append(await wall.receive_json_from(timeout=5))
        await wall.disconnect()
        return told

    told = async_to_sync(run)()

    assert len(told) == 2 and all(isinstance(figures, dict) for figures in told)
    assert not AgentSocket.objects.exists()


def test_a_page_of_a_process_that_died_stops_counting_and_goes_when_another_opens(agent_client, agent):
    AgentSocket.objects.create(
        user=agent,
        channel_name="dead!1",
        seen_at=timezone.now() - timedelta(seconds=SOCKET_FRESH_SECONDS + 1),
    )
    AgentState.objects.create(user=agent, last_activity_at=timezone.now())
    assert presence(agent) == Presence.OFFLINE

    async def run() -> None:
        inbox = websocket("/ws/inbox/", agent_client)
        assert await inbox.connect() == (True, None)
        await becomes(agent, Presence.ONLINE)
        await inbox.disconnect()

    async_to_sync(run)()

    assert not AgentSocket.objects.exists()


def test_coming_online_brings_the_waiting_tickets_of_the_agents_queues(agent_client, agent):
    queue = QueueFactory(assignment=Queue.Assignment.ROUND_ROBIN)
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue)

    async def run() -> None:
        inbox = websocket("/ws/inbox/", agent_client)
        assert await inbox.connect() == (True, None)
        await inbox.disconnect()

    async_to_sync(run)()

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.OPEN)


def test_an_idle_agent_is_away_and_back_online_when_the_page_reports_activity(agent_client, agent, settings):
    async def run() -> list[dict]:
        inbox = websocket("/ws/inbox/", agent_client)
        assert await inbox.connect() == (True, None)
        await sync_to_async(idle)(agent, settings)
        await becomes(agent, Presence.AWAY)
        await inbox.send_json_to({"type": "activity"})
        await becomes(agent, Presence.ONLINE)
        told = [await inbox.receive_json_from(timeout=5)]
        await inbox.disconnect()
        return told

    told = async_to_sync(run)()

    assert told == [{"type": "presence.changed", "user": agent.pk, "presence": "online"}]


def test_an_open_page_keeps_its_row_fresh_and_says_when_idleness_made_the_agent_away(
    agent_client, agent, settings, monkeypatch
):
    settings.SOCKET_RECHECK_SECONDS = 0.1
    monkeypatch.setattr("tickets.consumers.SOCKET_REFRESH_SECONDS", 0.2)

    async def run() -> tuple[dict, bool]:
        inbox = websocket("/ws/inbox/", agent_client)
        assert await inbox.connect() == (True, None)
        opened = await sync_to_async(lambda: AgentSocket.objects.get(user=agent).seen_at)()
        await sync_to_async(idle)(agent, settings)
        told = await inbox.receive_json_from(timeout=5)
        seen = await sync_to_async(lambda: AgentSocket.objects.get(user=agent).seen_at)()
        await inbox.disconnect()
        return told, seen > opened

    told, refreshed = async_to_sync(run)()

    assert told == {"type": "presence.changed", "user": agent.pk, "presence": "away"}
    assert refreshed


def test_the_header_switch_sets_and_clears_away(agent_client, agent):
    url = reverse("presence")

    shown = agent_client.get(url)
    away = agent_client.post(url, {"away": "1"})

    assert 'data-presence="offline"' in shown.content.decode()  # no inbox page open
    assert "I am back" in away.content.decode()
    assert AgentState.objects.get(user=agent).away is True
    back = agent_client.post(url, {"away": "0"})
    assert "Set me away" in back.content.decode()
    assert AgentState.objects.get(user=agent).away is False


def test_the_switch_is_for_signed_in_users_only(client):
    response = client.post(reverse("presence"), {"away": "1"})

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not AgentState.objects.exists()
