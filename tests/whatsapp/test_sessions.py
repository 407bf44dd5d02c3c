"""The session engine end to end: real worker processes, real Chromium, the simulator."""

import contextlib
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db.models.functions import Now
from django.utils import timezone
from django_q.tasks import async_task

from tests.engine import SIM_PHONE
from tests.processes import wait_until
from tickets.models import Message
from whatsapp.metrics import metrics_text
from whatsapp.models import Connection
from whatsapp.services import connection_create, connection_delete, connection_request
from whatsapp.tasks import SESSIONS_CLUSTER, sessions_restore

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
    assert not (engine.var_dir / "sessions" / str(connection.pk)).exists()  # the dead login is wiped
    connection_request(connection=connection, enabled=True)
    engine.wait_for_status(connection, Status.QR)


def test_a_network_drop_disconnects_and_its_return_reconnects(engine, simulator):
    # The network's return must be what reconnects: with the tests' backoff (0.5 to 1 s) a busy machine
    # could reach the session's own reload first (a new browser: STARTING in the log).
    engine.start_worker(WHATSAPP_BACKOFF_BASE="10", WHATSAPP_BACKOFF_MAX="20")
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


@pytest.fixture
def silent_web():
    """A web server that accepts connections and never answers: WhatsApp Web that never loads."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes the handshakes; nobody ever reads
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"


class BlankPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>WhatsApp</title><p>Loading...</p>")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def blank_web():
    """A web server whose page loads but never becomes WhatsApp Web (no WPP ever ready)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("web", "error"),
    [
        ("silent_web", "WhatsApp Web did not load: "),
        ("blank_web", "WhatsApp Web did not start within 3 s"),
    ],
)
def test_a_page_that_fails_is_retried_until_the_attempts_run_out_then_failed_and_disabled(
    engine, request, web, error
):
    engine.start_worker(
        WHATSAPP_WEB_URL=request.getfixturevalue(web), WHATSAPP_AUTH_TIMEOUT="3", WHATSAPP_MAX_ATTEMPTS="1"
    )
    connection = started()

    engine.wait_for_status(connection, Status.FAILED, timeout=90)
    assert connection.enabled is False
    assert states(connection) == [Status.STARTING, Status.DISCONNECTED, Status.STARTING, Status.FAILED]
    errors = list(connection.events.filter(kind="error").order_by("id").values_list("message", flat=True))
    assert len(errors) == 2 and all(e.startswith(error) for e in errors), errors
    restarts = connection.events.filter(message__startswith="Restarting in ")
    assert restarts.filter(message__endswith="(attempt 1 of 1)").exists()
    assert connection.events.filter(message="Gave up after 1 attempt").exists()
    wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")


def test_restart_from_the_api_brings_a_new_browser_back_without_a_qr(engine, api):
    engine.start_worker()
    connection = engine.connect(started())
    engine.let_login_settle(connection)
    first = set(engine.browser_roots())
    before, last = connection.events.count(), connection.events.latest("id").id

    response = api("POST", f"connections/{connection.pk}/restart")

    assert response.status_code == 200
    wait_until(
        lambda: states_since(connection, before)[-1:] == [Status.CONNECTED],
        timeout=40,
        message="the restarted session",
    )
    assert states_since(connection, before) == [Status.STARTING, Status.CONNECTED]
    assert connection.events.filter(message="Restart requested", id__gt=last).exists()
    connection.refresh_from_db()
    assert (connection.command, connection.enabled) == ("", True)
    restarted = set(engine.browser_roots())
    assert restarted and restarted.isdisjoint(first)


def test_log_out_from_the_helpdesk_unlinks_the_phone_and_wipes_the_profile(engine, simulator, api):
    phone = "5511999990003"  # a phone of its own: the simulator's devices are checked
    engine.start_worker()
    connection = engine.connect(started(), phone=phone)
    profile = engine.var_dir / "sessions" / str(connection.pk)
    assert profile.is_dir()

    response = api("POST", f"connections/{connection.pk}/logout")

    assert response.status_code == 200
    engine.wait_for_status(connection, Status.LOGGED_OUT)
    assert connection.enabled is False
    assert not profile.exists()
    account = next(a for a in simulator.get("/_sim/accounts")["accounts"] if a["phone"] == phone)
    assert account["devices"] == []
    wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")


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


def start_stop_cycles(engine, *, cycles: int) -> None:
    """Stop and start a connected session ``cycles`` times: after each stop no browser is left.
    ``make bench`` runs ten cycles (tests/benchmarks/test_sessions_bench.py)."""
    engine.start_worker()
    connection = engine.connect(started())

    for _ in range(cycles):
        connection_request(connection=connection, enabled=False)
        engine.wait_for_status(connection, Status.STOPPED)
        wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")
        connection_request(connection=connection, enabled=True)
        engine.wait_for_status(connection, Status.CONNECTED)

    connection_request(connection=connection, enabled=False)
    engine.wait_for_status(connection, Status.STOPPED)
    wait_until(lambda: not engine.chromium(), timeout=15, message="the browser to exit")


def test_three_start_stop_cycles_leave_no_browser_behind(engine):
    start_stop_cycles(engine, cycles=3)


def test_snapshot_and_pairing_code_come_from_the_running_page_through_the_api(engine, simulator, api):
    engine.start_worker()
    connection = engine.wait_for_status(started(), Status.QR)

    snapshot = api("GET", f"connections/{connection.pk}/snapshot")
    pairing = api("POST", f"connections/{connection.pk}/pairing-code", {"phone": "5511999990002"})

    assert (snapshot.status_code, snapshot["Content-Type"]) == (200, "image/png")
    assert snapshot.content.startswith(b"\x89PNG\r\n")
    assert pairing.status_code == 200, pairing.content
    status, _ = simulator.post("/_sim/pair", {"phone": "5511999990002", "code": pairing.json()["code"]})
    assert status == 200
    assert engine.wait_for_status(connection, Status.CONNECTED).phone == "5511999990002"
    assert connection.events.filter(message="Pairing code requested for +55 11 99999-0002").exists()


def test_deleting_a_connection_stops_its_session_and_removes_its_profile(engine):
    engine.start_worker()
    connection = engine.connect(started())
    profile = engine.var_dir / "sessions" / str(connection.pk)
    assert profile.is_dir()

    connection_delete(connection=connection)

    wait_until(
        lambda: not engine.chromium() and not profile.exists(), timeout=20, message="session and profile gone"
    )


def stops_half_a_second_after_the_scan(engine, *, rounds: int) -> None:
    """Scan, Ctrl-C the worker half a second later and start another: each time the login must
    survive (no QR code again). ``make bench`` repeats it five times in a row
    (tests/benchmarks/test_sessions_bench.py)."""
    stop_seconds = []
    for round_ in range(rounds):
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


def test_a_stop_half_a_second_after_the_scan_keeps_the_login_twice_in_a_row(engine):
    """Issue 9: a Ctrl-C right after the scan used to kill the browser before it wrote its
    profile (Playwright's own SIGINT handling), so the next start asked for a new QR code."""
    stops_half_a_second_after_the_scan(engine, rounds=2)


FROZEN_PHONE = "5511966600901"  # this test's own number: the simulator keeps every phone's history


def test_a_frozen_session_that_lost_its_lease_writes_nothing_once_resumed_and_stops(
    engine, simulator, tmp_path
):
    """One driver per connection: a worker frozen (SIGSTOP) past its lease is replaced by another
    machine's worker, which logs in with the login kept centrally; resumed, the frozen one stores
    nothing, changes nothing (its login is not saved over the new holder's) and ends, and its browser
    with it."""
    frozen = engine.start_worker()
    connection = engine.connect(started(), phone=FROZEN_PHONE)
    engine.start_worker(HELPDESK_VAR_DIR=str(tmp_path / "other-machine"))  # its own, empty profiles
    frozen_owner = connection.lease_owner
    wait_until(connection.saved_logins.exists, timeout=30, message="the login saved centrally")
    before_takeover = connection.events.count()

    engine.freeze(frozen)
    try:
        wait_until(
            Connection.objects.filter(pk=connection.pk, lease_expires_at__lt=Now()).exists,
            timeout=30,
            message="the frozen session's lease to expire",
        )
        # The frozen session's browser still runs (a process group of its own) and hears this.
        status, body = simulator.post(
            "/_sim/messages", {"account": FROZEN_PHONE, "from": "5511988880901", "body": "Alguém aí?"}
        )
        assert status == 201, body
        assert sessions_restore() == 1  # what the schedule does every minute
        wait_until(
            lambda: states_since(connection, before_takeover) == [Status.STARTING, Status.CONNECTED],
            timeout=60,
            message="the other machine's session, restored from the central copy",
        )
        connection.refresh_from_db()
        assert connection.lease_owner not in ("", frozen_owner)
        saved_by_the_holder = set(connection.saved_logins.values_list("version", flat=True))
        # The new holder's catch-up brings the message sent while the frozen browser ran.
        wait_until(lambda: Message.objects.filter(body="Alguém aí?").exists(), message="the message")
        wait_until(
            connection.events.filter(message__startswith="Imported").exists, message="the catch-up's end"
        )
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    resumed_at = timezone.now()

    wait_until(
        lambda: "session ended: lease_lost" in frozen.output(), timeout=60, message="the stale session"
    )
    wait_until(lambda: engine.chromium() == [], timeout=30, message="the stale session's browser to close")
    holder = Connection.objects.get(pk=connection.pk)
    assert (holder.status, holder.lease_owner) == (Status.CONNECTED, connection.lease_owner)
    stale_writes = connection.events.filter(at__gte=resumed_at)
    assert list(stale_writes.values_list("message", flat=True)) == []
    assert Status.QR not in states_since(connection, before_takeover)
    # The holder's own saves come after its first ones (6 s and 30 s after CONNECTED); the stale
    # session's would be one more version while the holder saved none: none is.
    assert set(connection.saved_logins.values_list("version", flat=True)) <= saved_by_the_holder | {
        max(saved_by_the_holder) + 1
    }
    assert Message.objects.filter(body="Alguém aí?").count() == 1


def test_a_hung_browser_is_restarted_and_the_session_keeps_its_lease_meanwhile(engine):
    """The browser stops answering (frozen): the heartbeat's check gives up and restarts it; the lease,
    renewed beside the session's work, never expires, so no restore starts a second session."""
    engine.start_worker()
    connection = engine.connect(started())
    engine.let_login_settle(connection)
    owner = connection.lease_owner
    hung = engine.chromium()
    for pid in hung:
        os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(
            connection.events.filter(message="The browser stopped answering").exists,
            timeout=60,
            message="the hung browser to be noticed",
        )
        assert sessions_restore() == 0  # the lease is still live
    finally:
        for pid in hung:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    wait_until(
        lambda: states(connection)[-2:] == [Status.STARTING, Status.CONNECTED],
        timeout=60,
        message="a new browser",
    )
    assert set(engine.chromium()).isdisjoint(hung)
    assert Connection.objects.get(pk=connection.pk).lease_owner == owner  # one session all along
