"""Machine loss at full size (``make bench``, issue 21): ten sessions come back on another machine, no QR.

A machine is a session worker with its own var dir and its own host name: each runs in a UTS
namespace of its own (``unshare --uts``), so its lease owner names another host and no worker takes
its leases over as a dead process of its own machine: they are taken over only once they expire, as
between real machines. With WHATSAPP_LEASE=20 and WHATSAPP_HEARTBEAT=5, SESSIONS connections run
CONNECTED on machine A, each logged in for 30 s with its login saved centrally; machine B runs beside
it, idle; customers write to three of the numbers from 3 s before the loss until every session is
back. Then A is lost (its process group and
its Chromiums SIGKILLed, its var dir deleted) and the test runs the restore as the schedule does,
``sessions_restore()`` every RESTORE_EVERY seconds from the kill (5 s, the heartbeat: the figure is then
the takeover itself, not the schedule's phase; docs/operations.md "Losing a machine" adds the phase).
BENCH_RESTORE_EVERY=60 BENCH_RESTORE_PHASE=worst runs the schedule's worst phase instead: a restore a
second before the last lease expires, the next a minute later.

Each run measures the kill → every session CONNECTED again on B, checks that no connection's log
has a QR after the kill and that the phones' linked devices are unchanged, counts the customers'
messages lost and duplicated (each must be stored exactly once), and sends a reply from each number
written to. The next run loses B the same way
to a new machine C, and so on: RUNS runs, p50 and p95. Rows go to ``var/bench/machine_loss.md``.
"""

import contextlib
import itertools
import os
import shutil
import signal
import statistics
import sys
import threading
import time
import zlib
from collections import Counter

import pytest
from django.db.models import Max, Q

from tests.benchmarks.results import report
from tests.processes import Child, chromium_pids, wait_until
from tests.whatsapp.test_crash_recovery import outbox_bodies
from tests.whatsapp.test_machine_loss import linked_devices
from tickets.models import Message, Ticket
from tickets.outbound import message_send
from whatsapp.models import Connection, ConnectionEvent, SavedLogin
from whatsapp.services import connection_create, connection_request
from whatsapp.tasks import sessions_restore

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.full_size_only("tests/whatsapp/test_machine_loss.py runs a machine's loss in make test"),
]
Status = Connection.Status
RUNS = int(os.environ.get("BENCH_LOSS_RUNS", "3"))
SESSIONS = int(os.environ.get("BENCH_LOSS_SESSIONS", "10"))
RESTORE_EVERY = float(os.environ.get("BENCH_RESTORE_EVERY", "5"))
# "kill": the first restore at the kill; "worst": a second before the last lease expires, so that the
# last session waits a whole RESTORE_EVERY more (with 60, the schedule's worst phase).
RESTORE_PHASE = os.environ.get("BENCH_RESTORE_PHASE", "kill")
LEASE, HEARTBEAT = 20, 5
BOUND = LEASE + 60  # the issue's: every session CONNECTED elsewhere within WHATSAPP_LEASE + 60 s
WRITTEN_TO = 3  # numbers the customers write to during each run
LOGGED_IN_FOR = 30  # seconds CONNECTED before the loss: the "a login CONNECTED for 30 s"


class Machine:
    """A session worker with its own var dir (its disk) and its own host name."""

    def __init__(self, engine, name: str) -> None:
        self.name = name
        self.var_dir = engine.tmp / f"var-{name}"
        env = {
            **engine.env,
            "HELPDESK_VAR_DIR": str(self.var_dir),
            "WHATSAPP_LEASE": str(LEASE),
            "WHATSAPP_HEARTBEAT": str(HEARTBEAT),
            "MAX_WHATSAPP_CONNECTIONS": str(SESSIONS),
        }
        # Root may set its host name in a UTS namespace of its own; anyone else in a user namespace too.
        unshare = (
            ["unshare", "--uts"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--uts"]
        )
        command = [*unshare, "sh", "-c", 'hostname "$0" && exec "$1" manage.py session_worker']
        self.worker = Child([*command, name, sys.executable], env=env, log=engine.tmp / f"worker-{name}.log")
        engine.workers.append(self.worker)  # the engine's teardown stops it

    def lose(self) -> None:
        """The machine is gone: its worker's process group and its Chromiums (a process group of
        their own) SIGKILLed, and its disk with them."""
        browsers = chromium_pids(self.var_dir)
        os.killpg(self.worker.pid, signal.SIGKILL)
        for pid in browsers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.worker.process.wait(timeout=10)
        wait_until(
            lambda: not chromium_pids(self.var_dir), timeout=10, message=f"{self.name}'s browsers to die"
        )
        shutil.rmtree(self.var_dir)


class Customers(threading.Thread):
    """Customers writing to ``phones`` in turn, one message every half second, until stopped; each
    body is unique, so a message stored twice is seen whatever its WhatsApp id."""

    def __init__(self, simulator, phones: list[str], run: int) -> None:
        super().__init__(daemon=True)
        self.simulator, self.phones, self.run_number = simulator, phones, run
        self.sent: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for n in itertools.count():
            if self.stopping.is_set():
                return
            body = f"perda {self.run_number}.{n}"
            phone = self.phones[n % len(self.phones)]
            status, _answer = self.simulator.post(
                "/_sim/messages", {"account": phone, "from": f"55119555{n % 7:05d}", "body": body}
            )
            if status == 201:  # accepted by WhatsApp: it must be stored once
                self.sent.append(body)
            time.sleep(0.5)

    def stop(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=30)
        return self.sent


def phones_of(phone: str) -> list[str]:
    """SESSIONS company numbers of this test's own, the same on every run (the simulator keeps history)."""
    return [f"55118{zlib.crc32(phone.encode()) % 10**5:05d}{n:03d}" for n in range(SESSIONS)]


def connected_since(event_ids: dict[int, int]) -> dict[int, float]:
    """Each connection CONNECTED again after its event ``event_ids[pk]``: when (the event's time)."""
    again = {}
    for pk, last in event_ids.items():
        at = (
            ConnectionEvent.objects.filter(
                connection_id=pk, id__gt=last, kind="state", to_status=Status.CONNECTED
            )
            .order_by("id")
            .values_list("at", flat=True)
            .first()
        )
        if at is not None:
            again[pk] = at.timestamp()
    return again


def stored_counts(bodies: list[str]) -> Counter:
    return Counter(Message.objects.filter(body__in=bodies).values_list("body", flat=True))


def replies_go_out(simulator, agent, phones: list[str], run: int) -> None:
    """An answer to the newest ticket of each number written to reaches the customer's phone."""
    for number in phones:
        ticket = Ticket.objects.filter(connection__phone=number).latest("id")
        message_send(ticket=ticket, author=agent, body=f"resposta {run}")
        wait_until(
            lambda number=number: f"resposta {run}" in outbox_bodies(simulator, number),
            timeout=60,
            message=f"the reply from {number}",
        )


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def connect_all(engine, phones: list[str]) -> list[Connection]:
    """SESSIONS connections started together on the first machine and scanned, each with its number."""
    connections = [connection_create(name=f"Loja {n}") for n in range(SESSIONS)]
    for connection in connections:
        connection_request(connection=connection, enabled=True)
    for connection, number in zip(connections, phones, strict=True):
        engine.wait_for_status(connection, Status.QR, timeout=180)  # ten Chromiums start on two cores
        engine.connect(connection, phone=number)
    return connections


def restored_on_schedule(
    before: dict[int, int], ticks: list[tuple[float, int]], *, first: float
) -> dict[int, float]:
    """Run the restore at ``first`` (a ``time.time()``) and every RESTORE_EVERY seconds after, as the
    schedule does every minute, until every connection is CONNECTED again after its event
    ``before[pk]``; when each was (its event's time). Each tick is added to ``ticks`` as (its time,
    the sessions it started)."""
    again: dict[int, float] = {}
    deadline = time.monotonic() + 4 * BOUND
    while len(again) < SESSIONS and time.monotonic() < deadline:
        if time.time() >= first + len(ticks) * RESTORE_EVERY:
            ticks.append((time.time(), sessions_restore()))
        time.sleep(0.2)
        again = connected_since(before)
        assert not qr_lines(before), qr_lines(before)  # no need to wait for the rest
    return again


def qr_lines(before: dict[int, int]) -> list[str]:
    """The lines of the connections' logs after ``before`` that offer a QR (a status or a code)."""
    after = ConnectionEvent.objects.filter(id__gt=min(before.values())).filter(
        Q(to_status=Status.QR) | Q(message__startswith="QR code")
    )
    return [f"{event.connection_id}: {event}" for event in after if event.id > before[event.connection_id]]


def machine_lost(
    engine, agent, *, run: int, lost: Machine, taker: Machine, phones: list[str]
) -> tuple[float, float]:
    """``lost`` dies with its disk while ``taker`` runs beside it and customers write; the restore
    brings every session back on ``taker``. Checks: no QR, the same linked devices, each message
    stored once, replies sent afterwards. Returns the seconds from the kill until every session is
    CONNECTED again, and the time (``time.time()``) the last one was."""
    wait_until(lambda: "] running." in taker.worker.output(), timeout=60, message="the other worker up")
    customers = Customers(engine.simulator, phones[:WRITTEN_TO], run)
    customers.start()
    time.sleep(3)  # some of their messages reach the lost machine's sessions while they still run
    devices = {number: linked_devices(engine.simulator, number) for number in phones}
    before = dict(ConnectionEvent.objects.values_list("connection").annotate(last=Max("id")))

    killed_at = time.time()
    lost.lose()
    last_expiry = max(Connection.objects.values_list("lease_expires_at", flat=True)).timestamp()
    ticks: list[tuple[float, int]] = []
    first = last_expiry - 1 if RESTORE_PHASE == "worst" else killed_at
    again = restored_on_schedule(before, ticks, first=first)
    assert len(again) == SESSIONS, f"{SESSIONS - len(again)} not CONNECTED again\n{engine.logs()}"
    took, last_connected = max(again.values()) - killed_at, max(again.values())
    sent = customers.stop()

    assert qr_lines(before) == []
    states = ConnectionEvent.objects.filter(id__gt=min(before.values()), kind="state").order_by("id")
    for pk, last in before.items():
        assert [e.to_status for e in states if e.connection_id == pk and e.id > last] == [
            Status.STARTING,
            Status.CONNECTED,
        ], pk
    assert not Connection.objects.exclude(qr_code="").exists()
    owners = list(Connection.objects.values_list("lease_owner", flat=True))
    assert all(owner.startswith(f"{taker.name}:") for owner in owners), owners
    assert {number: linked_devices(engine.simulator, number) for number in phones} == devices

    with contextlib.suppress(AssertionError):
        wait_until(lambda: len(stored_counts(sent)) == len(sent), timeout=60, message="every message")
    time.sleep(3)  # a second copy would come with the catch-up or the live event, both long done
    counts = stored_counts(sent)
    missing = sum(1 for body in sent if counts[body] == 0)
    duplicated = sum(count - 1 for count in counts.values())
    last_start = max(at for at, started in ticks if started)
    report(
        f"run {run}: kill → {SESSIONS} CONNECTED on {taker.name}",
        f"{took:.1f} s",
        f"leases expired {last_expiry - killed_at:.1f} s after the kill",
        f"last session started → all CONNECTED {last_connected - last_start:.1f} s",
        f"{len(sent)} messages sent, {missing} lost, {duplicated} duplicated",
        to="machine_loss.md",
    )
    assert (missing, duplicated) == (0, 0)
    replies_go_out(engine.simulator, agent, phones[:WRITTEN_TO], run)
    return took, last_connected


def test_ten_sessions_come_back_on_another_machine_without_a_qr(engine, settings, phone, agent):
    settings.MAX_WHATSAPP_CONNECTIONS = SESSIONS
    settings.WHATSAPP_LEASE = LEASE  # the restore's reservations last as long as the workers' leases
    phones = phones_of(phone)
    machines = [Machine(engine, "machine-a")]
    connect_all(engine, phones)
    connected_at = time.time()

    times = []
    for run in range(1, RUNS + 1):
        machines.append(Machine(engine, f"machine-{'abcdefgh'[run]}"))  # up and idle before the loss
        wait_until(
            lambda: SavedLogin.objects.filter(refused="").values("connection").distinct().count() == SESSIONS,
            timeout=90,
            message="every login saved centrally",
        )
        time.sleep(max(0.0, LOGGED_IN_FOR - (time.time() - connected_at)))  # each CONNECTED for 30 s
        took, connected_at = machine_lost(
            engine, agent, run=run, lost=machines[-2], taker=machines[-1], phones=phones
        )
        times.append(took)

    report(
        f"kill → {SESSIONS} CONNECTED again, restore every {RESTORE_EVERY:g} s from the {RESTORE_PHASE}",
        f"p50 {statistics.median(times):.1f} s, p95 {percentile(times, 0.95):.1f} s (n={len(times)})",
        f"bound {BOUND} s",
        to="machine_loss.md",
    )
    assert max(times) <= BOUND, times
