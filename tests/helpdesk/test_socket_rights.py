"""An open websocket follows its user's rights: signed out, deactivated or demoted, the socket is
closed and hears nothing more; a recheck that fails is tried again (helpdesk/consumers.py).

Each conversation runs in one event loop (``async_to_sync``) against the real ASGI application,
Redis channel layer and database; the recheck runs every 0.1 s here instead of 5.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection as database

from helpdesk.models import AgentSocket, AgentState
from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tests.tickets.test_inbox_live import events_after
from tests.websockets import websocket
from tickets.services import ticket_assign
from whatsapp.models import Connection
from whatsapp.services import connection_qr_shown

pytestmark = [pytest.mark.usefixtures("channel_layer"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _quick_rechecks(settings):
    settings.SOCKET_RECHECK_SECONDS = 0.1


def deactivate(user) -> None:
    user.is_active = False
    user.save()


def demote(user) -> None:
    """An admin made a plain agent: no longer superuser nor staff, no permission left."""
    user.is_superuser = user.is_staff = False
    user.save()


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [(deactivate, "/ws/connections/", 4401), (demote, "/ws/connections/{pk}/", 4403)],
    ids=["deactivated", "demoted"],
)
def test_an_admin_who_lost_the_right_stops_receiving_connection_events_and_qr_codes(
    staff_client, staff, change, path, code
):
    connection = ConnectionFactory(status=Connection.Status.STARTING)

    async def run() -> tuple[dict, bool]:
        communicator = websocket(path.format(pk=connection.pk), staff_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(change)(staff)
        closed = await communicator.receive_output(timeout=5)
        await sync_to_async(connection_qr_shown)(connection=connection, code="2@a-fresh-qr-code")
        return closed, await communicator.receive_nothing(timeout=0.5)

    closed, heard_nothing = async_to_sync(run)()

    assert closed == {"type": "websocket.close", "code": code}
    assert heard_nothing


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/inbox/", "/ws/connections/"])
def test_a_signed_out_users_socket_is_closed(staff_client, path):
    async def run() -> dict:
        communicator = websocket(path, staff_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(staff_client.logout)()  # the session is deleted, as "Sign out" does
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/inbox/"])
@pytest.mark.parametrize("when", ["before it opens", "while it is open"])
def test_a_deactivated_users_overview_and_inbox_sockets_are_closed_and_leave_no_presence(
    agent_client, agent, path, when
):
    async def run() -> dict:
        if when == "before it opens":
            await sync_to_async(deactivate)(agent)
        communicator = websocket(path, agent_client)
        assert await communicator.connect() == (True, None)
        if when == "while it is open":
            await sync_to_async(deactivate)(agent)
        closed = await communicator.receive_output(timeout=5)
        await communicator.disconnect()  # the browser lets go of the closed socket
        return closed

    assert async_to_sync(run)() == {"type": "websocket.close", "code": 4401}
    assert not AgentSocket.objects.filter(user=agent).exists()  # offline: no page of theirs counts
    if when == "before it opens":
        assert not AgentState.objects.filter(user=agent).exists()  # not even an activity


@pytest.fixture
def sessions_table():
    """Takes the login sessions' table away, so that reading a session fails as a database error
    would, and puts it back (at the latest when the test ends)."""
    name, away = Session._meta.db_table, f"{Session._meta.db_table}_away"
    state = {"away": False}

    def move(to_away: bool) -> None:
        with database.schema_editor() as editor:
            editor.alter_db_table(Session, *((name, away) if to_away else (away, name)))
        state["away"] = to_away

    yield move
    if state["away"]:
        move(False)


def test_a_recheck_that_fails_is_logged_and_tried_again(agent_client, agent, sessions_table, caplog):
    sales = QueueFactory()
    sales.members.add(agent)
    ticket = TicketFactory(queue=sales)

    async def logged() -> bool:
        for _ in range(50):
            if "rechecking a websocket's rights failed" in caplog.text:
                return True
            await asyncio.sleep(0.1)
        return False

    async def run() -> tuple[bool, dict, list[dict]]:
        communicator = websocket("/ws/inbox/", agent_client)
        assert await communicator.connect() == (True, None)
        await sync_to_async(sessions_table)(True)
        failed = await logged()
        await sync_to_async(sessions_table)(False)
        await sync_to_async(sales.members.remove)(agent)
        told = await communicator.receive_json_from(timeout=5)
        received = await events_after(communicator, lambda: ticket_assign(ticket=ticket, assignee=None))
        await communicator.disconnect()
        return failed, told, received

    failed, told, received = async_to_sync(run)()

    assert failed
    assert told == {"type": "inbox.refresh"}  # leaving the queue applied after the failure
    assert received == []  # and the queue's events no longer arrive
