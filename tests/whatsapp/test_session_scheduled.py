"""The session and the scheduled replies, without a browser: when it looks again, and its writes fenced."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import MessageFactory
from tickets.models import Message
from whatsapp.lease import LeaseLost
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own


def scheduled(session, seconds: float) -> Message:
    return MessageFactory(
        ticket__connection_id=session.connection_id,
        from_me=True,
        status=Message.Status.SCHEDULED,
        send_at=timezone.now() + timedelta(seconds=seconds),
        body="Bom dia",
    )


def test_the_session_looks_again_when_the_next_one_comes_due(session):
    message = scheduled(session, 30)

    async def look() -> tuple[float | None, float]:
        await session.messages.send_queued()
        return session.messages.next_due, asyncio.get_running_loop().time()

    due, now = asyncio.run(look())

    assert due is not None and 29 < due - now <= 30.1
    assert Message.objects.get(pk=message.pk).status == Message.Status.SCHEDULED


def test_a_session_not_connected_promotes_nothing_and_waits_for_no_time(session):
    message = scheduled(session, -1)
    Connection.objects.filter(pk=session.connection_id).update(status=Connection.Status.DISCONNECTED)
    session.messages.next_due = 1.0

    asyncio.run(session.messages.send_queued())

    assert session.messages.next_due is None
    assert Message.objects.get(pk=message.pk).status == Message.Status.SCHEDULED


def test_a_session_that_lost_its_lease_promotes_nothing(session):
    message = scheduled(session, -1)
    Connection.objects.filter(pk=session.connection_id).update(lease_owner="otherhost:2:2:b")

    with pytest.raises(LeaseLost):
        asyncio.run(session.messages.send_queued())

    assert Message.objects.get(pk=message.pk).status == Message.Status.SCHEDULED
