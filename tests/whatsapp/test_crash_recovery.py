"""Crashes and outages through the real engine (issue 9): nothing stored twice, nothing lost.

Real session workers, Chromium and the simulator. The database outage needs PostgreSQL
(make test with DATABASE_URL); the rest runs on SQLite too. ``BURST`` messages keep
make test short; the 1,000-message runs are benchmarks (tests/benchmarks/test_faults_bench.py).
"""

import os
import signal

import pytest
from django.db import connection as db

from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.outbound import message_send
from whatsapp.models import Connection
from whatsapp.wire import client_message_id

pytestmark = pytest.mark.django_db(transaction=True)
CUSTOMERS = [f"55119666{n:05d}" for n in range(4)]
BURST = 200


def write(simulator, phone: str, body: str, sender: str) -> str:
    status, answer = simulator.post(
        "/_sim/messages", {"account": phone, "from": sender, "name": "Maria", "body": body}
    )
    assert status == 201, answer
    return answer["id"]


def outbox_bodies(simulator, phone: str) -> list[str]:
    return [message["body"] for message in simulator.get(f"/_sim/outbox?account={phone}")["messages"]]


def burst(simulator, phone: str, numbers: range) -> dict[str, list[str]]:
    """Messages ``numbers`` from the customers in turn; what was sent, per chat, in order ("n wa_id")."""
    sent: dict[str, list[str]] = {}
    for n in numbers:
        sender = CUSTOMERS[n % len(CUSTOMERS)]
        wa_id = write(simulator, phone, f"message {n}", sender)
        sent.setdefault(f"{sender}@c.us", []).append(f"{n} {wa_id}")
    return sent


def stored_per_chat() -> dict[str, list[str]]:
    """What is stored, per chat, in the order stored, as ``burst`` gives what was sent."""
    stored: dict[str, list[str]] = {}
    rows = Message.objects.filter(from_me=False).order_by("id")
    for chat, body, wa_id in rows.values_list("ticket__contact__wa_id", "body", "wa_id"):
        stored.setdefault(chat, []).append(f"{body.removeprefix('message ')} {wa_id}")
    return stored


def merged(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    whole: dict[str, list[str]] = {}
    for part in parts:
        for chat, ids in part.items():
            whole.setdefault(chat, []).extend(ids)
    return whole


def assert_each_stored_once_in_order(engine, sent: dict[str, list[str]], *, timeout: float = 120) -> None:
    total = sum(map(len, sent.values()))
    try:
        wait_until(
            lambda: Message.objects.filter(from_me=False).count() >= total,
            timeout=timeout,
            message=f"{total} messages",
        )
    except AssertionError:
        print(engine.logs())
        raise
    assert Message.objects.filter(from_me=False).count() == total  # none twice
    stored = stored_per_chat()
    for chat, ids in sent.items():  # each chat in the order its customer wrote
        numbers = " ".join(entry.split()[0] for entry in stored.get(chat, []))
        assert stored.get(chat) == ids, f"{chat} stored in the order: {numbers}"


def test_a_worker_killed_between_the_send_and_the_mark_leaves_one_row_sent(engine, simulator, agent, phone):
    """The catch-up used to store our reply's echo as a second row, and marking the reply sent then
    failed on the unique (connection, WhatsApp id) and restarted the session at once, forever."""
    worker = engine.start_worker(WHATSAPP_TEST_PAUSE_AFTER_SEND="120")
    connection = engine.connected(phone)
    write(simulator, phone, "Olá", CUSTOMERS[0])
    wait_until(Ticket.objects.exists, message="the ticket")
    engine.let_login_settle(connection)
    ticket = Ticket.objects.get()

    reply = message_send(ticket=ticket, author=agent, body="Já volto")
    wait_until(
        lambda: outbox_bodies(simulator, phone) == ["Já volto"], message="WhatsApp to accept the reply"
    )
    assert Message.objects.get(pk=reply.pk).status == Message.Status.QUEUED  # the worker waits to mark it
    worker.kill()
    engine.start_worker()

    engine.wait_for_status(connection, Connection.Status.CONNECTED)
    wait_until(lambda: Message.objects.get(pk=reply.pk).status == "sent", timeout=30, message="the mark")
    replies = Message.objects.filter(ticket=ticket, from_me=True)
    assert list(replies.values_list("pk", "wa_id")) == [
        (reply.pk, f"true_{CUSTOMERS[0]}@c.us_{client_message_id(reply.pk)}")
    ]
    following = message_send(ticket=ticket, author=agent, body="Pronto")
    wait_until(lambda: Message.objects.get(pk=following.pk).status == "sent", timeout=30, message="the next")
    assert outbox_bodies(simulator, phone) == ["Já volto", "Pronto"]
    assert replies.count() == 2
    assert not connection.events.filter(message__startswith="The session failed").exists()


def test_a_worker_killed_mid_burst_stores_every_message_once_in_order(engine, simulator, phone):
    engine.start_worker()
    connection = engine.connected(phone)
    engine.let_login_settle(connection)

    first = burst(simulator, phone, range(BURST // 2))
    wait_until(lambda: Message.objects.exists(), message="the burst to be storing")
    engine.workers[0].kill()  # mid-burst: batches in flight die with it
    rest = burst(simulator, phone, range(BURST // 2, BURST))
    engine.start_worker()

    engine.wait_for_status(connection, Connection.Status.CONNECTED)
    assert_each_stored_once_in_order(engine, merged(first, rest))


def terminate_other_connections() -> int:
    """End every connection to this test's database but the test's own, as a database restart would."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_the_databases_connections_ended_mid_burst_pause_the_ingest_and_lose_nothing(
    engine, simulator, phone
):
    if db.vendor != "postgresql":
        pytest.skip("pg_terminate_backend: PostgreSQL only")
    engine.start_worker()
    connection = engine.connected(phone)

    sent, terminated = [], 0
    for part in range(4):
        sent.append(burst(simulator, phone, range(part * BURST // 4, (part + 1) * BURST // 4)))
        before = Message.objects.count()
        wait_until(lambda: Message.objects.count() > before, message="the ingest to be storing")  # noqa: B023
        terminated += terminate_other_connections()

    assert terminated >= 4
    assert_each_stored_once_in_order(engine, merged(*sent))
    # Paused, not restarted: each ORM call checks its connection first, each lane retries its batch.
    # (A connection ended between the check and a later query of the same call still fails that call:
    # at most once here; without the check, every termination restarted the session.)
    assert connection.events.filter(message__startswith="The session failed").count() <= 1


def test_a_browser_killed_mid_burst_is_restarted_and_its_catch_up_stores_the_rest_in_order(
    engine, simulator, phone
):
    """A failure that restarts the browser: the catch-up after it starts at the first message not stored."""
    engine.start_worker()
    connection = engine.connected(phone)
    engine.let_login_settle(connection)

    first = burst(simulator, phone, range(BURST // 2))
    wait_until(lambda: Message.objects.exists(), message="the burst to be storing")
    for pid in engine.chromium():
        os.kill(pid, signal.SIGKILL)
    rest = burst(simulator, phone, range(BURST // 2, BURST))

    assert_each_stored_once_in_order(engine, merged(first, rest))
    assert connection.events.filter(kind="error").exists()  # the crash was seen, and recovered from


def test_a_postgresql_restart_mid_burst_pauses_the_session_and_loses_nothing(
    private_postgres, engine, simulator, phone
):
    """``pg_ctl restart -m fast`` of the helpdesk's own server (tests/postgres_cluster.py) while a burst
    is being stored: every connection of the worker ends, the transactions in flight are rolled back.
    Each chat's lane retries its batch; the session waits for the database with the same browser
    (a new one, with its catch-up, would hide a batch dropped by its lane)."""
    engine.start_worker()
    connection = engine.connected(phone)
    browser = engine.browser_roots()

    first = burst(simulator, phone, range(BURST // 2))
    wait_until(lambda: Message.objects.exists(), message="the burst to be storing")
    private_postgres.restart()
    rest = burst(simulator, phone, range(BURST // 2, BURST))

    assert_each_stored_once_in_order(engine, merged(first, rest))
    assert engine.wait_for_status(connection, Connection.Status.CONNECTED)
    assert engine.browser_roots() == browser, engine.logs()  # paused, not restarted
