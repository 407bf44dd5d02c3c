"""The session engine end to end: real worker processes, real Chromium, the simulator."""

import os
import signal
import time

import pytest
from django_q.tasks import async_task

from tests.engine import SIM_PHONE
from tests.processes import wait_until
from whatsapp.metrics import metrics_text
from whatsapp.models import Connection
from whatsapp.services import connection_create, connection_delete, connection_request
from whatsapp.session_requests import session_pairing_code, session_snapshot
from whatsapp.tasks import SESSIONS_CLUSTER

pytestmark = pytest.mark.django_db(transaction=True)
Status = Connection.Status


def started(name: str = "Vendas") -> Connection:
    connection = connection_create(name=name)
    connection_request(connection=connection, enabled=True)
    return connection


def states(connection: Connection) -> list[str]:
    return list(
        connection.events.filter(kind="state").order_by("at", "id").values_list("to_status", flat=True)
    )


def test_scan_connects_and_a_restarted_worker_restores_without_a_qr(engine):
    engine.start_worker()
    connection = engine.connect(started())
    assert connection.phone == SIM_PHONE
    engine.let_login_settle(connection)
    worker_pid = engine.workers[0].pid

    engine.workers[0].kill()  # the whole worker dies: no cleanup at all
    before = connection.events.count()
    engine.start_worker()

    engine.wait_for_status(connection, Status.STARTING)
    engine.wait_for_status(connection, Status.CONNECTED)
    after = list(connection.events.order_by("at", "id")[before:].values_list("to_status", flat=True))
    assert Status.QR not in after
    connection.refresh_from_db()
    assert str(worker_pid) not in connection.lease_owner
    figures = metrics_text()
    for line in (
        "helpdesk_session_starts_total 2",
        "helpdesk_qr_scans_total 1",
        "helpdesk_restores_ok_total 1",
        'helpdesk_connections{status="CONNECTED"} 1',
    ):
        assert line in figures


def test_the_phone_logging_out_leaves_logged_out_and_start_shows_a_new_qr(engine, simulator):
    engine.start_worker()
    connection = engine.connect(started())

    simulator.post("/_sim/logout", {"account": SIM_PHONE})

    engine.wait_for_status(connection, Status.LOGGED_OUT)
    assert connection.enabled is False
    connection_request(connection=connection, enabled=True)
    engine.wait_for_status(connection, Status.QR)


def test_a_network_drop_disconnects_and_its_return_reconnects(engine, simulator):
    engine.start_worker()
    connection = engine.connect(started())

    simulator.post("/_sim/network", {"account": SIM_PHONE, "online": False})
    engine.wait_for_status(connection, Status.DISCONNECTED)
    simulator.post("/_sim/network", {"account": SIM_PHONE, "online": True})

    engine.wait_for_status(connection, Status.CONNECTED, timeout=15)
    assert states(connection)[-2:] == [Status.DISCONNECTED, Status.CONNECTED]


def states_since(connection: Connection, before: int) -> list[str]:
    """The statuses the connection went through after its first ``before`` events."""
    return [
        s for s in connection.events.order_by("at", "id")[before:].values_list("to_status", flat=True) if s
    ]


def test_a_killed_browser_is_detected_and_restarted(engine):
    engine.start_worker()
    connection = engine.connect(started())
    engine.let_login_settle(connection)
    first = set(engine.chromium())
    assert first, "no browser to kill"
    before, last = connection.events.count(), connection.events.latest("id").id

    for pid in first:
        os.kill(pid, signal.SIGKILL)

    wait_until(
        lambda: states_since(connection, before)[-1:] == [Status.CONNECTED],
        timeout=40,
        message="the session to come back",
    )
    assert states_since(connection, before) == [Status.DISCONNECTED, Status.STARTING, Status.CONNECTED]
    errors = set(connection.events.filter(kind="error", id__gt=last).values_list("message", flat=True))
    # Whichever sees it first: Playwright's close event, or the heartbeat's call to the page.
    assert errors & {"The browser closed unexpectedly", "The browser stopped answering"}, errors
    assert connection.events.filter(
        message__startswith="Restarting in ", message__contains="(attempt 1 of"
    ).exists()
    restarted = set(engine.chromium())
    assert restarted and restarted.isdisjoint(first)


def test_two_workers_never_drive_one_connection(engine):
    engine.start_worker()
    engine.start_worker()
    connection = connection_create(name="Vendas")
    # Two tasks for one connection, as a duplicate delivery would make: the lease lets one run.
    for _ in range(2):
        async_task("whatsapp.session.session_run", connection.pk, cluster=SESSIONS_CLUSTER)

    engine.wait_for_status(connection, Status.QR)
    wait_until(
        lambda: "session ended: held elsewhere" in engine.logs(),
        timeout=20,
        message="the second task to give up",
    )

    assert connection.events.filter(message="Starting the browser").count() == 1
    assert len(engine.browser_roots()) == 1


def test_a_qr_never_scanned_stops_the_session(engine):
    engine.start_worker(WHATSAPP_QR_MAX_CODES="2")
    connection = engine.wait_for_status(started(), Status.QR)

    engine.wait_for_status(connection, Status.STOPPED, timeout=40)
    assert connection.last_error == "QR not scanned"
    assert connection.enabled is False
    assert connection.events.filter(message__startswith="QR code ").count() == 2


def test_a_browser_that_cannot_start_fails_with_a_readable_reason(engine):
    engine.start_worker(WHATSAPP_BROWSER_PATH="/nonexistent/chromium")
    connection = started()

    engine.wait_for_status(connection, Status.FAILED)
    assert "No browser at /nonexistent/chromium" in connection.last_error
    assert "apt-get install chromium" in connection.last_error


def test_ten_start_stop_cycles_leave_no_browser_behind(engine):
    engine.start_worker()
    connection = engine.connect(started())

    for _ in range(10):
        connection_request(connection=connection, enabled=False)
        engine.wait_for_status(connection, Status.STOPPED)
        wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")
        connection_request(connection=connection, enabled=True)
        engine.wait_for_status(connection, Status.CONNECTED)

    connection_request(connection=connection, enabled=False)
    engine.wait_for_status(connection, Status.STOPPED)
    wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")


def test_snapshot_and_pairing_code_come_from_the_running_page(engine, simulator):
    engine.start_worker()
    connection = engine.wait_for_status(started(), Status.QR)

    assert session_snapshot(connection_id=connection.pk).startswith(b"\x89PNG\r\n")
    code = session_pairing_code(connection_id=connection.pk, phone="5511999990002")
    status, _ = simulator.post("/_sim/pair", {"phone": "5511999990002", "code": code})

    assert status == 200
    assert engine.wait_for_status(connection, Status.CONNECTED).phone == "5511999990002"
    assert connection.events.filter(message="Pairing code requested for +5511999990002").exists()


def test_deleting_a_connection_stops_its_session_and_removes_its_profile(engine):
    engine.start_worker()
    connection = engine.connect(started())
    profile = engine.var_dir / "sessions" / str(connection.pk)
    assert profile.is_dir()

    connection_delete(connection=connection)

    wait_until(
        lambda: not engine.chromium() and not profile.exists(), timeout=20, message="session and profile gone"
    )


def test_a_stop_half_a_second_after_the_scan_keeps_the_login_five_times_in_a_row(engine):
    """Issue 9: a Ctrl-C right after the scan used to kill the browser before it wrote its
    profile (Playwright's own SIGINT handling), so the next start asked for a new QR code."""
    stop_seconds = []
    for round_ in range(5):
        connection = started(f"Vendas {round_}")
        worker = engine.start_worker()
        engine.wait_for_status(connection, Status.QR)
        scanned = time.monotonic()
        status, body = engine.simulator.post("/_sim/scan", {"code": connection.qr_code, "phone": SIM_PHONE})
        assert status == 200, body
        engine.wait_for_status(connection, Status.CONNECTED)
        time.sleep(max(0.0, scanned + 0.5 - time.monotonic()))
        stopping = time.monotonic()
        assert worker.stop() == 0  # SIGINT to the worker's whole process group, as a Ctrl-C
        stop_seconds.append(time.monotonic() - stopping)
        before = connection.events.count()

        restarted = engine.start_worker()
        engine.wait_for_status(connection, Status.CONNECTED, Status.QR)  # a lost login shows a QR code
        after = list(connection.events.order_by("at", "id")[before:].values_list("to_status", flat=True))
        assert Status.QR not in after, f"round {round_}: {after}\n{engine.logs()}"
        restarted.stop()
        connection_delete(connection=connection)
    print("stop seconds:", ", ".join(f"{s:.2f}" for s in stop_seconds))
