"""Fault runs (``make bench``, issue 9): a burst of 1,000 messages with a fault in its middle.

Each run: a connected session on the simulator, the first half of the burst from four
customers, the fault once the ingest is storing, the second half, the end of the fault,
then a wait until every message is stored. Reported: messages sent, stored, duplicated,
lost, whether each chat is in order, and the recovery time (from the end of the fault to
the last message stored, the backlog included). Rows are printed and appended to
``var/bench/faults.md``. PostgreSQL and Redis: run with DATABASE_URL (the Redis is the
test run's, or a private one for the Redis restart).

The PostgreSQL restart runs on a private cluster (tests/postgres_cluster.py): the shared
server is never restarted. The smoke run (tests/benchmarks/conftest.py): 20 messages, the worker's
kill -9 and the Redis restart; the other faults are run in ``make test`` already, by
tests/whatsapp/test_crash_recovery.py and (the network) tests/whatsapp/test_sessions.py.
"""

import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection as db

from helpdesk.embedded_redis import embedded_redis_start
from tests.benchmarks.results import report
from tests.engine import Engine
from tests.processes import wait_until
from tests.whatsapp.test_crash_recovery import (
    CUSTOMERS,
    burst,
    merged,
    stored_per_chat,
    terminate_other_connections,
)
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
MESSAGES = int(os.environ.get("BENCH_FAULT_MESSAGES", "1000"))
SMOKE_MESSAGES = 20

Fault = Callable[[Engine], Callable[[], None]]  # starts the fault, returns what ends it


def fault_run(engine: Engine, phone: str, fault: Fault, *, messages: int, timeout: float = 300) -> dict:
    engine.start_worker()
    engine.let_login_settle(engine.connected(phone))

    first = burst(engine.simulator, phone, range(messages // 2))
    wait_until(Message.objects.exists, message="the ingest to be storing")
    end_fault = fault(engine)
    rest = burst(engine.simulator, phone, range(messages // 2, messages))
    end_fault()
    ended, engine.fault_ended_at = time.monotonic(), time.time()
    wait_until(
        lambda: Message.objects.filter(from_me=False).count() >= messages,
        timeout=timeout,
        interval=0.05,
        message=f"{messages} messages",
    )
    recovery = time.monotonic() - ended
    sent = merged(first, rest)
    stored = stored_per_chat()
    sent_ids = {wa_id for ids in sent.values() for wa_id in ids}
    stored_ids = [wa_id for ids in stored.values() for wa_id in ids]
    return {
        "sent": messages,
        "stored": len(stored_ids),
        "duplicated": len(stored_ids) - len(set(stored_ids)),
        "lost": len(sent_ids - set(stored_ids)),
        "in order": stored == sent,
        "recovery": f"{recovery:.1f} s",
        "longest pause": f"{longest_pause():.1f} s",
    }


def longest_pause() -> float:
    """The longest time between two messages stored one after the other: what the fault held up the
    ingest, while the burst went on arriving (``recovery`` starts only once it was all sent)."""
    stored = Message.objects.filter(from_me=False).order_by("created_at").values_list("created_at", flat=True)
    times = list(stored)
    return max((later - earlier).total_seconds() for earlier, later in itertools.pairwise(times))


def worker_killed(engine: Engine):
    engine.workers[0].kill()
    return engine.start_worker


# Where a new worker's recovery goes, as its log says it (whatsapp/session.py, django-q2), in order.
MILESTONES = [
    ("worker up, sessions restored (Python and Django started)", "restoring "),
    ("sessions cluster running (its processes forked)", "] running."),
    ("session task picked up", "processing session"),
    ("lease taken, Playwright's driver up: browser starting", "Starting the browser"),
    ("Chromium started, WhatsApp Web loaded: CONNECTED", "→ CONNECTED"),
    ("catch-up stored", "Imported "),
]


def recovery_breakdown(engine: Engine) -> list[str]:
    """Each milestone of the new worker, in seconds since the fault ended (the worker started)."""
    seen: dict[str, float] = {}
    for line in engine.workers[-1].output().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        for what, says in MILESTONES:
            if what not in seen and says in str(entry.get("msg")):
                seen[what] = datetime.fromisoformat(entry["ts"]).timestamp() - engine.fault_ended_at
    return [f"{seen[what]:5.1f} s  {what}" for what, _says in MILESTONES if what in seen]


def browser_killed(engine: Engine):
    for pid in engine.chromium():
        os.kill(pid, signal.SIGKILL)
    return lambda: None


def network_dropped(engine: Engine):
    engine.simulator.post("/_sim/network", {"account": engine.phone, "online": False})
    return lambda: engine.simulator.post("/_sim/network", {"account": engine.phone, "online": True})


def database_connections_ended(engine: Engine):
    terminate_other_connections()
    return lambda: None


@pytest.fixture
def faults_engine(tmp_path, redis_url, simulator, channel_layer, phone):
    engine = Engine(tmp=tmp_path, redis_url=redis_url, simulator=simulator)
    engine.phone = phone
    yield engine
    for worker in engine.workers:
        worker.stop()


IN_MAKE_TEST = pytest.mark.full_size_only("tests/whatsapp/ runs this fault in make test")


@pytest.mark.parametrize(
    ("what", "fault"),
    [
        ("session worker kill -9", worker_killed),
        pytest.param("browser processes killed", browser_killed, marks=IN_MAKE_TEST),
        pytest.param("network dropped and restored (simulator)", network_dropped, marks=IN_MAKE_TEST),
        pytest.param(
            "database connections ended (pg_terminate_backend)",
            database_connections_ended,
            marks=IN_MAKE_TEST,
        ),
    ],
)
def test_a_fault_in_the_middle_of_a_burst(faults_engine, phone, what, fault, scale):
    if fault is database_connections_ended and db.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    messages = scale.pick(MESSAGES, smoke=SMOKE_MESSAGES)
    figures = fault_run(faults_engine, phone, fault, messages=messages)

    report(
        f"{what}, {messages} messages from {len(CUSTOMERS)} chats, {db.vendor}",
        *figures.values(),
        to="faults.md",
    )
    if fault is worker_killed:
        print("\n".join(["recovery of the new worker:", *recovery_breakdown(faults_engine)]))
    assert (figures["duplicated"], figures["lost"], figures["in order"]) == (0, 0, True)


def test_a_redis_restart_in_the_middle_of_a_burst(tmp_path, simulator, channel_layer, phone, scale):
    """The session's Redis (its wake-ups, the realtime events) restarted: a private redis-server."""
    socket_dir = Path(tempfile.mkdtemp(prefix="hd-fault-redis-"))
    socket = socket_dir / "redis.sock"
    redis = embedded_redis_start(socket_path=socket)
    engine = Engine(tmp=tmp_path, redis_url=f"unix://{socket}", simulator=simulator)
    engine.phone = phone

    def restart(engine: Engine):
        redis.terminate()
        redis.wait(timeout=10)

        def start_again() -> None:
            nonlocal redis
            redis = embedded_redis_start(socket_path=socket)

        return start_again

    messages = scale.pick(MESSAGES, smoke=SMOKE_MESSAGES)
    try:
        figures = fault_run(engine, phone, restart, messages=messages)
    finally:
        for worker in engine.workers:
            worker.stop()
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(socket_dir, ignore_errors=True)

    report(
        f"Redis restarted, {messages} messages from {len(CUSTOMERS)} chats, {db.vendor}",
        *figures.values(),
        to="faults.md",
    )
    assert (figures["duplicated"], figures["lost"], figures["in order"]) == (0, 0, True)


@IN_MAKE_TEST
def test_a_postgresql_restart_in_the_middle_of_a_burst(private_postgres, faults_engine, phone, scale):
    """``pg_ctl restart -m fast`` of the cluster the test and its worker use (requested before the engine)."""

    def restart(engine: Engine):
        private_postgres.restart()
        return lambda: None

    messages = scale.pick(MESSAGES, smoke=SMOKE_MESSAGES)
    figures = fault_run(faults_engine, phone, restart, messages=messages)

    report(
        f"PostgreSQL restarted, {messages} messages from {len(CUSTOMERS)} chats, {db.vendor}",
        *figures.values(),
        to="faults.md",
    )
    assert (figures["duplicated"], figures["lost"], figures["in order"]) == (0, 0, True)
