"""The session and the scheduled replies, without a browser: when it looks again, and its writes fenced."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection as database
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import MessageFactory
from tickets.models import Message
from whatsapp.lease import LeaseLost
from whatsapp.models import Connection
from whatsapp.session_db import db

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


async def look_counted(session) -> list[str]:
    """One look at the outbox, and the statements it ran (in the session's database thread)."""
    capture = CaptureQueriesContext(database)
    await db(capture.__enter__)()
    try:
        await session.messages.send_queued()
    finally:
        await db(capture.__exit__)(None, None, None)
    return await db(lambda: [query["sql"] for query in capture.captured_queries])()


def test_a_look_reads_the_schedule_only_when_it_changed_or_its_next_time_came(session):
    later = scheduled(session, 30)

    async def looks() -> tuple[list[str], list[str], list[str], bool]:
        first = await look_counted(session)  # a run's first look reads the schedule: due in 30 s
        quiet = await look_counted(session)  # a heartbeat's or a reply's wake: nothing due, nothing read
        session.messages.schedule_changed()  # a wake said a reply was scheduled or moved
        changed = await look_counted(session)
        session.messages.next_due = asyncio.get_running_loop().time()  # its time came
        await sync_to_async(Message.objects.filter(pk=later.pk).update)(send_at=timezone.now())
        await session.messages.send_queued()
        return first, quiet, changed, session.messages.next_due is None

    first, quiet, changed, nothing_next = asyncio.run(looks())

    # the connection's status, the queued messages, the queued changes
    assert len(quiet) == 3, quiet
    # and the promotion: BEGIN, a savepoint and its release, the due replies, the next one's time, the
    # lease's fence, COMMIT (on both databases)
    assert len(first) - len(quiet) == 7, first
    assert len(changed) == len(first)
    assert (
        Message.objects.get(pk=later.pk).status != Message.Status.SCHEDULED
    )  # promoted (then failed: no browser)
    assert nothing_next


def test_a_reply_scheduled_without_a_wake_waits_for_one(session):
    async def look() -> None:
        await session.messages.send_queued()  # knows of no scheduled reply now

    asyncio.run(look())
    unannounced = scheduled(session, -1)
    asyncio.run(look())
    assert Message.objects.get(pk=unannounced.pk).status == Message.Status.SCHEDULED
    session.messages.schedule_changed()
    asyncio.run(look())
    assert Message.objects.get(pk=unannounced.pk).status != Message.Status.SCHEDULED  # promoted
