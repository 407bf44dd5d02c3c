"""manage.py audit against real state: connections, workers, the browser, profiles; formats and exit status."""

import json
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ConnectionEventFactory, TicketFactory
from tests.tickets.audit_helpers import audit, healthy_connection, healthy_machine  # noqa: F401 (fixture)
from tickets.management.commands.audit import AuditError
from whatsapp.models import Connection, ConnectionEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("healthy_machine")]


def test_everything_fine_is_ok_and_exit_status_0():
    TicketFactory(connection=healthy_connection(name="Sales", browser_memory=150 * 2**20))

    status, report = audit()

    assert status == 0, report
    assert "== Connections: OK ==" in report
    assert "Sales: CONNECTED" in report
    assert "Bus (Redis): answers" in report
    assert "browsers: Sales 150 MiB;" in report  # as its session last measured it: no browser runs here


def test_a_connection_stuck_in_starting_past_its_timeouts_is_a_warning(settings):
    connection = healthy_connection(name="Stuck", status=Connection.Status.STARTING)
    ConnectionEventFactory(
        connection=connection,
        kind=ConnectionEvent.Kind.STATE,
        to_status="STARTING",
        at=timezone.now() - timedelta(minutes=10),
    )

    status, report = audit()

    assert status == 1, report
    assert "[WARNING] Stuck: STARTING for 10 min, longer than its timeouts (2 min)." in report


def test_connected_with_a_stale_heartbeat_is_critical_and_fix_restarts_it():
    connection = healthy_connection(name="Silent", last_seen_at=timezone.now() - timedelta(minutes=5))

    status, report = audit()
    assert status == 2
    assert "[CRITICAL] Silent: CONNECTED, but its last heartbeat is older than two heartbeats." in report
    connection.refresh_from_db()
    assert connection.command == ""  # the report only reports

    status, report = audit("--fix")
    connection.refresh_from_db()
    assert connection.command == Connection.Command.RESTART
    assert "Silent: restarted (as with the Restart button)." in report


def test_a_lease_held_by_a_dead_process_means_no_worker_runs_the_connection():
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    owner = f"{socket.gethostname()}:{dead_pid}:gone"
    healthy_connection(name="Orphaned", lease_owner=owner)

    status, report = audit()

    assert status == 2
    assert f"[CRITICAL] Orphaned: enabled, but no worker runs it (lease owner: {owner})." in report
    assert "worker " + owner + " (not running)" in report


def test_a_browser_that_does_not_exist_is_diagnosed_and_critical(settings):
    settings.WHATSAPP_BROWSER_PATH = "/nonexistent/chromium"
    healthy_connection()

    status, report = audit("--browser")

    assert status == 2
    assert (
        "[CRITICAL] The browser does not start: No browser at /nonexistent/chromium: install Chromium"
        in report
    )
    assert "Traceback" not in report


def test_the_browser_is_launched_as_a_session_does():
    healthy_connection()

    status, report = audit("--browser")

    assert status == 0, report
    assert "Browser: started, opened a blank page and closed in" in report


def test_an_orphan_profile_folder_is_reported_and_removed_only_with_the_flag(settings):
    connection = healthy_connection()
    (settings.WHATSAPP_SESSIONS_DIR / str(connection.pk)).mkdir(parents=True)
    orphan = settings.WHATSAPP_SESSIONS_DIR / str(connection.pk + 1000)
    (orphan / "Default").mkdir(parents=True)
    (orphan / "Default" / "Cookies").write_bytes(b"x" * 4096)

    status, report = audit()
    assert status == 1
    assert f"[WARNING] {orphan} (0 MiB) belongs to no connection." in report
    assert orphan.exists()

    status, report = audit("--prune-profiles")
    assert status == 0, report
    assert "Removed 1 orphaned profile folders." in report
    assert not orphan.exists()
    assert (settings.WHATSAPP_SESSIONS_DIR / str(connection.pk)).exists()


def test_json_and_markdown_and_an_output_file(tmp_path):
    healthy_connection(status=Connection.Status.FAILED, last_error="QR not scanned")

    _status, text = audit("--format", "json")
    document = json.loads(text)
    assert document["status"] == "CRITICAL"
    assert [s["key"] for s in document["sections"]] == [
        "infrastructure",
        "connections",
        "profiles",
        "tickets",
        "contacts",
    ]
    assert document["summary"]["findings"]["CRITICAL"] == 1

    _status, markdown = audit("--format", "markdown")
    assert markdown.startswith("# Audit — CRITICAL")
    assert "## Connections — CRITICAL" in markdown

    output = tmp_path / "report.md"
    status, printed = audit("--format", "markdown", "--output", str(output))
    assert status == 2 and printed == ""
    assert "**CRITICAL**: Number" in output.read_text()


def test_a_wrong_option_or_date_is_an_error_not_a_report():
    with pytest.raises(AuditError, match="unrecognized arguments: --bogus"):
        audit("--bogus")
    with pytest.raises(AuditError, match="--keep-since: not a date or date-time: 2026-13-45"):
        audit("--keep-since", "2026-13-45")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "{tmp}/missing/report.md"], "--output: the folder {tmp}/missing does not exist"),
        (["--output", "{tmp}"], "--output: {tmp} is a folder; name a file"),
        (
            ["--keep-since", "0001-01-01T00:00:00+05:00"],
            "--keep-since: 0001-01-01T00:00:00+05:00 is out of range: give a date from 1970-01-01 to "
            "before 9999-01-01",
        ),
        (
            ["--keep-since", "9999-12-31T23:59:59-05:00"],
            "--keep-since: 9999-12-31T23:59:59-05:00 is out of range: give a date from 1970-01-01 to "
            "before 9999-01-01",
        ),
    ],
)
def test_every_option_is_checked_before_anything_is_closed(tmp_path, args, message):
    """Each of these crashed with a traceback (exit 1) once the stale tickets were closed."""
    stale = TicketFactory(last_message_at=timezone.now() - timedelta(days=30))

    with pytest.raises(AuditError) as refused:
        audit("--close-stale", *[arg.format(tmp=tmp_path) for arg in args])

    assert (str(refused.value), refused.value.returncode) == (message.format(tmp=tmp_path), 2)
    stale.refresh_from_db()
    assert stale.status == stale.Status.PENDING


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "AuditError: unrecognized arguments: --bogus"),
        (
            ["--output", "/nonexistent/report.md"],
            "AuditError: --output: the folder /nonexistent does not exist",
        ),
        (["--format", "xml"], "AuditError: argument --format: invalid choice: 'xml'"),
        (["--keep-since", "yesterday"], "AuditError: --keep-since: not a date or date-time: yesterday"),
    ],
)
def test_from_the_shell_a_wrong_option_is_one_line_and_exit_status_2(args, message):
    finished = subprocess.run([sys.executable, "manage.py", "audit", *args], capture_output=True, text=True)

    assert finished.returncode == 2
    assert finished.stderr.strip().startswith(message)
    assert len(finished.stderr.strip().splitlines()) == 1
    assert finished.stdout == ""


def test_a_task_nobody_takes_for_minutes_means_no_worker_runs(settings):
    from django_q.models import OrmQ

    healthy_connection()
    OrmQ.objects.create(
        key=settings.Q_CLUSTER["name"], payload="x", lock=timezone.now() - timedelta(minutes=10)
    )

    status, report = audit()

    assert status == 2
    assert "A task has waited 10 min on the helpdesk cluster: is its worker running?" in report


def test_no_connection_at_all_is_a_warning():
    status, report = audit()

    assert status == 1
    assert "[WARNING] No WhatsApp connection is configured." in report
