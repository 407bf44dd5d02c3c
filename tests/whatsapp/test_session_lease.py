"""A session and its lease, without WhatsApp: the renewal beside the session's work, and its writes fenced."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from tests.factories import MessageFactory
from tests.tickets.test_inbound import CUSTOMER, inbound
from tests.whatsapp.session_page import session_page
from tickets.models import Message
from whatsapp.lease import LeaseLost, lease_fence
from whatsapp.models import Connection
from whatsapp.outcomes import Outcome
from whatsapp.profiles import profile_path
from whatsapp.session import Session

pytestmark = pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own
Status = Connection.Status


def take_over(session: Session) -> None:
    Connection.objects.filter(pk=session.connection_id).update(lease_owner="otherhost:2:2:b")


def test_the_lease_is_renewed_while_the_session_is_busy_for_longer_than_the_lease(session):
    """A catch-up or a backlog of replies keeps Django's thread (and the session's loop) busy:
    the renewal has a task and a thread of its own, so the lease outlives the work."""

    async def catch_up_of_three_leases() -> None:
        keeper = asyncio.create_task(session._keep_lease())
        await sync_to_async(time.sleep)(3)  # every ORM call of the session waits behind this one
        keeper.cancel()

    asyncio.run(catch_up_of_three_leases())

    lease_fence(connection_id=session.connection_id, owner=session.owner)  # still ours, not expired
    assert session.events.empty()


def test_a_lost_lease_ends_the_renewal_and_tells_the_session(session):
    take_over(session)

    asyncio.run(asyncio.wait_for(session._keep_lease(), timeout=10))

    assert session.events.get_nowait() == ("lease.lost", None)


def test_a_batch_stored_after_the_lease_was_lost_writes_nothing(session):
    take_over(session)

    with pytest.raises(LeaseLost):
        session.messages._store_chat(CUSTOMER, [inbound(1), inbound(2)])

    assert not Message.objects.exists()


def test_a_session_that_lost_its_lease_changes_no_status(session):
    take_over(session)

    with pytest.raises(LeaseLost):
        session.database.transition(Status.DISCONNECTED, "The browser closed unexpectedly")

    assert Connection.objects.get(pk=session.connection_id).status == Status.CONNECTED


def test_ending_after_the_lease_was_lost_leaves_the_profile_and_the_status_to_the_new_holder(session):
    """Logged out as seen by a session that lost its lease: the new holder's login is not wiped."""
    profile = profile_path(connection_id=session.connection_id)
    profile.mkdir(parents=True)
    take_over(session)

    session._finish(Outcome.LOGGED_OUT)

    assert profile.is_dir()
    connection = Connection.objects.get(pk=session.connection_id)
    assert (connection.status, connection.enabled, connection.lease_owner) == (
        Status.CONNECTED,
        True,
        "otherhost:2:2:b",
    )


PAGE = """() => {
    window.sent = [];
    window.__helpdeskBridgeApi = {messages: async () => []};
    window.WPP = {chat: {sendTextMessage: async (...call) => { window.sent.push(call); return {id: "x"}; }}};
}"""  # WhatsApp Web's part in a send: the earlier attempts of the chat (none), and the send itself


def test_a_session_that_lost_its_lease_sends_nothing(session, tmp_path):
    """The reply stays queued for the holder: sent twice, the customer would get it twice."""
    connection = Connection.objects.get(pk=session.connection_id)
    reply = MessageFactory(
        ticket__connection=connection, from_me=True, status=Message.Status.QUEUED, body="Bom dia"
    )
    take_over(session)

    async def send_queued() -> list:
        async with session_page(session, PAGE, profile=tmp_path / "profile") as page:
            with pytest.raises(LeaseLost):
                await session.messages.send_queued()
            return await page.evaluate("window.sent")

    assert asyncio.run(send_queued()) == []
    reply.refresh_from_db()
    assert reply.status == Message.Status.QUEUED


def test_a_session_whose_connection_was_deleted_removes_its_profile(session):
    """A fenced write finds no row: the lease went with the connection, which was deleted."""
    profile = profile_path(connection_id=session.connection_id)
    profile.mkdir(parents=True)
    Connection.objects.filter(pk=session.connection_id).delete()

    session._finish(Outcome.LEASE_LOST)

    assert not profile.exists()
