"""A session's own failures (issue 9): always the backoff, never a restart at once; attempts count
from zero again only after a stable minute CONNECTED.

The session object runs here without a browser: the error is raised where a browser run starts,
as a bug or the database away would raise it there.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync

from tests.factories import ConnectionFactory
from whatsapp import services
from whatsapp.lease import lease_acquire
from whatsapp.models import Connection
from whatsapp.outcomes import Outcome
from whatsapp.session import Session

pytestmark = pytest.mark.django_db(
    transaction=True
)  # the session closes connections it finds in a transaction
Status = Connection.Status


def holding_session(connection: Connection) -> Session:
    """A session holding its connection's lease, as a running one does: its writes are fenced by it."""
    session = Session(connection.pk)
    assert lease_acquire(connection_id=connection.pk, owner=session.owner)
    return session


def failing_session(connection: Connection, slept: list[float]) -> Session:
    session = holding_session(connection)

    async def run_once(playwright):
        raise RuntimeError("a bug in the session")

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    session._run_once = run_once
    session._sleep = sleep
    return session


def test_an_exception_in_a_run_backs_off_each_time_then_fails(settings):
    settings.WHATSAPP_MAX_ATTEMPTS = 3
    settings.WHATSAPP_BACKOFF_BASE, settings.WHATSAPP_BACKOFF_MAX = 1, 60
    connection = ConnectionFactory(enabled=True)
    slept: list[float] = []

    outcome = async_to_sync(failing_session(connection, slept)._supervise)(None)

    assert outcome == Outcome.FAILED
    assert len(slept) == 3 and 0.5 <= slept[0] <= 1 and 2 <= slept[2] <= 4  # 1 s doubling, jittered
    connection.refresh_from_db()
    assert (connection.status, connection.enabled) == (Status.FAILED, False)
    assert (
        connection.events.filter(message="The session failed: a bug in the session").count() == 4
    )  # the last gave up


def test_a_crash_outside_any_run_is_not_started_again_at_once(monkeypatch):
    connection = ConnectionFactory(enabled=True)
    started = []
    monkeypatch.setattr(services, "session_start", lambda connection_id: started.append(connection_id))

    holding_session(connection)._finish(Outcome.CRASHED)
    holding_session(connection)._finish(Outcome.RETRY)  # an outcome that hands over to a new session

    assert started == [connection.pk]


@pytest.mark.parametrize(("connected_for", "attempts_after"), [(59.0, 4), (60.0, 0)])
def test_attempts_count_from_zero_only_after_a_stable_minute_connected(
    settings, connected_for, attempts_after
):
    settings.WHATSAPP_STABLE_AFTER = 60
    session = Session(ConnectionFactory().pk)
    session.attempts, session.connected_at = 4, 1000.0

    session._note_stable(1000.0 + connected_for)

    assert session.attempts == attempts_after


def test_a_session_that_never_connected_keeps_its_attempts(settings):
    session = Session(ConnectionFactory().pk)
    session.attempts = 4

    session._note_stable(10_000.0)

    assert session.attempts == 4


def backoff_taken(session: Session, seconds: float) -> float:
    async def sleep() -> float:
        started = asyncio.get_running_loop().time()
        await session._sleep(seconds)
        return asyncio.get_running_loop().time() - started

    return async_to_sync(sleep)()


def test_a_backoff_is_not_cut_short_by_what_the_closed_browser_reported():
    """The messages a page queued before it went used to end each wait at once: during a database
    restart a burst spent the attempts in a fraction of a second."""
    session = Session(ConnectionFactory().pk)
    for n in range(20):
        session.events.put_nowait(("chat.new_message", {"id": n}))

    assert backoff_taken(session, 0.5) >= 0.5


@pytest.mark.parametrize("order", ["wake", "worker.stopping"])
def test_an_order_or_a_stop_ends_a_backoff_early(order):
    session = Session(ConnectionFactory().pk)
    session.events.put_nowait(("chat.new_message", {"id": 1}))
    session.events.put_nowait((order, None))

    assert backoff_taken(session, 30) < 5
