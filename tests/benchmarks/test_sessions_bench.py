"""Benchmarks of the session engine (``make bench``); figures go to docs/benchmarks.md.

Run against the simulator with real workers and Chromium, like the tests, but
timed and repeated. Each figure is printed as a table row and appended to
``var/bench/sessions.md``. The smoke run (tests/benchmarks/conftest.py): one run, two connections,
one cycle.
"""

import os
import statistics
import time
from pathlib import Path

import pytest

from tests.benchmarks.results import report
from tests.processes import chromium_pids, wait_until
from tests.whatsapp.test_sessions import start_stop_cycles, stops_half_a_second_after_the_scan
from whatsapp.browser import browser_memory_bytes
from whatsapp.models import Connection
from whatsapp.services import connection_create, connection_request

pytestmark = pytest.mark.django_db(transaction=True)
Status = Connection.Status
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
CYCLES = int(os.environ.get("BENCH_CYCLES", "100"))


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s (n={len(ordered)})"


def timed_until(connection: Connection, status: str, timeout: float = 60) -> float:
    started = time.monotonic()

    def reached():
        connection.refresh_from_db(fields=["status", "qr_code"])
        return connection.status == status

    wait_until(reached, timeout=timeout, interval=0.02, message=f"{connection} to reach {status}")
    return time.monotonic() - started


def process_tree_pss(pid: int) -> int:
    """PSS of a process and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(
                int(stat.parent.name)
            )
        except OSError:
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes()
            if b"--user-data-dir" in cmdline:
                continue  # browsers are measured on their own
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def test_start_to_qr_and_scan_to_connected(engine, simulator, settings, scale):
    runs = scale.pick(RUNS, smoke=1)
    settings.MAX_WHATSAPP_CONNECTIONS = runs + 1
    engine.start_worker(MAX_WHATSAPP_CONNECTIONS=str(runs + 1))
    to_qr, to_connected = [], []
    for run in range(runs):
        connection = connection_create(name=f"Bench {run}")
        connection_request(connection=connection, enabled=True)
        to_qr.append(timed_until(connection, Status.QR))
        started = time.monotonic()
        simulator.post("/_sim/scan", {"code": connection.qr_code, "phone": f"55119{run:08d}"})
        timed_until(connection, Status.CONNECTED)
        to_connected.append(time.monotonic() - started)
        connection_request(connection=connection, enabled=False)
        timed_until(connection, Status.STOPPED)
    report("start → QR code shown (committed, pushed to pages)", summary(to_qr))
    report("scan → CONNECTED", summary(to_connected))


def test_worker_restart_brings_ten_connections_back(engine, simulator, settings, scale):
    count = scale.pick(10, smoke=2)
    settings.MAX_WHATSAPP_CONNECTIONS = count
    extra = {"MAX_WHATSAPP_CONNECTIONS": str(count)}
    worker = engine.start_worker(**extra)
    connections = [
        connection_create(name=f"Restore {n}", enabled=False) for n in range(count)
    ]  # started one by one
    sessions_dir = engine.var_dir / "sessions"
    for n, connection in enumerate(connections):
        connection_request(connection=connection, enabled=True)
        engine.connect(connection, phone=f"55219{n:08d}")
        if n == 0:
            engine.let_login_settle(connection)
            alone = browser_memory_bytes(profile=sessions_dir / str(connection.pk))
    engine.let_login_settle(*connections)
    together = sum(browser_memory_bytes(profile=sessions_dir / str(c.pk)) for c in connections)
    report("memory (PSS) of one session's browser tree, alone", f"{alone / 2**20:.0f} MiB")
    report(
        f"memory (PSS) of each further session ({count} running)",
        f"{(together - alone) / (count - 1) / 2**20:.0f} MiB ({together / 2**20:.0f} MiB for all {count})",
    )

    samples = []
    for _ in range(scale.pick(3, smoke=1)):
        worker.stop()
        started = time.monotonic()
        worker = engine.start_worker(**extra)
        for connection in connections:
            timed_until(connection, Status.CONNECTED, timeout=120)
        samples.append(time.monotonic() - started)
        assert not Connection.objects.filter(status=Status.QR).exists()
    report(f"worker restart → {count} connections CONNECTED again", summary(samples))


def browser_processes(mark: str, var_dir: Path) -> dict[int, str]:
    """Every live process started for the worker's sessions (Chromium and its helpers, its crashpad
    handler, Playwright's driver), by pid with its program: the processes that inherited
    the worker's ``BENCH_PROCESS_MARK`` environment variable and are not Python.

    The environment, not only the profile in the command line nor the parent: Chromium's crashpad
    handler has neither (its database is elsewhere, and it detaches, its parent becoming init).
    And the profile too: the processes Chromium's zygote forks do not keep the environment.
    """
    needle = f"\0BENCH_PROCESS_MARK={mark}\0".encode()
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle not in b"\0" + (proc / "environ").read_bytes():
                continue
            program = Path(os.readlink(proc / "exe")).name
        except OSError:  # gone meanwhile, or a zombie (no exe)
            continue
        if not program.startswith("python"):
            found[int(proc.name)] = program
    for pid in chromium_pids(var_dir):
        found.setdefault(pid, "chromium")
    return found


def test_start_stop_cycles_leave_nothing(engine, simulator, scale):
    cycles = scale.pick(CYCLES, smoke=1)
    mark = f"cycles-{os.getpid()}-{time.time_ns()}"
    worker = engine.start_worker(BENCH_PROCESS_MARK=mark)
    connection = connection_create(name="Cycles")
    connection_request(connection=connection, enabled=True)
    engine.connect(connection)
    running = browser_processes(mark, engine.var_dir)
    report(
        "one running session: processes started for it (Chromium, crashpad handler, Playwright driver)",
        f"{len(running)}: "
        + ", ".join(
            sorted(f"{name} ×{list(running.values()).count(name)}" for name in set(running.values()))
        ),
    )
    engine.let_login_settle(connection)
    connection_request(connection=connection, enabled=False)
    timed_until(connection, Status.STOPPED)
    before = process_tree_pss(worker.pid)
    for _ in range(cycles):
        connection_request(connection=connection, enabled=True)
        timed_until(connection, Status.CONNECTED)
        connection_request(connection=connection, enabled=False)
        timed_until(connection, Status.STOPPED)
    deadline = time.monotonic() + 15  # a browser told to close may take a moment to exit
    while browser_processes(mark, engine.var_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = browser_processes(mark, engine.var_dir)
    after = process_tree_pss(worker.pid)
    report(
        f"{cycles} start/stop cycles: processes started for the sessions still alive 15 s after the last stop",
        f"{len(left)}" + (f": {sorted(left.items())}" if left else ""),
    )
    report(
        f"{cycles} start/stop cycles: worker memory (PSS, browsers excluded)",
        f"{before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after ({(after - before) / 2**20:+.0f} MiB)",
    )


@pytest.mark.full_size_only("tests/whatsapp/test_sessions.py runs two rounds of it in make test")
def test_a_stop_half_a_second_after_the_scan_keeps_the_login_five_times_in_a_row(engine):
    """Issue 9 (a Ctrl-C right after the scan lost the login) at the repetition it was reported with."""
    stops_half_a_second_after_the_scan(engine, rounds=5)


@pytest.mark.full_size_only("tests/whatsapp/test_sessions.py runs three cycles of it in make test")
def test_ten_start_stop_cycles_leave_no_browser_behind(engine):
    start_stop_cycles(engine, cycles=10)
