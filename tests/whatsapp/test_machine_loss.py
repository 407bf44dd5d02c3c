"""A session outlives its machine (issue 21): the login kept centrally brings it back on another
worker, with its own var dir, without a QR. Real workers, real Chromium, the simulator."""

import contextlib
import os
import shutil
import signal
import time

import pytest
from django.utils import timezone

from tests.processes import wait_until
from tickets.models import Message
from whatsapp.metrics import metrics_text
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.profile_archive import archive_restore
from whatsapp.tasks import sessions_restore

pytestmark = pytest.mark.django_db(transaction=True)
Status = Connection.Status
CUSTOMER = "5511977776601"


def lose_machine(engine, worker) -> None:
    """The machine is gone: its worker's process group and its Chromiums (a process group of their
    own) killed with SIGKILL, and its disk (the var dir) with them."""
    browsers = engine.chromium()
    os.killpg(worker.pid, signal.SIGKILL)
    for pid in browsers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    wait_until(lambda: engine.chromium() == [], timeout=10, message="the lost machine's browsers to die")
    shutil.rmtree(engine.var_dir)


def linked_devices(simulator, phone: str) -> list[str]:
    return sorted(
        next(a["devices"] for a in simulator.get("/_sim/accounts")["accounts"] if a["phone"] == phone)
    )


def test_a_login_connected_for_30_s_survives_the_loss_of_its_machine(engine, simulator, tmp_path, phone):
    machine_a = engine.start_worker()
    connection = engine.connected(phone)
    connected_at = time.monotonic()
    time.sleep(max(0.0, 30 - (time.monotonic() - connected_at)))  # CONNECTED for 30 s, no more

    devices = linked_devices(simulator, phone)
    lose_machine(engine, machine_a)
    lost_at = (
        ConnectionEvent.objects.filter(connection=connection).order_by("-id").values_list("id", flat=True)[0]
    )
    status, body = simulator.post("/_sim/messages", {"account": phone, "from": CUSTOMER, "body": "Ainda aí?"})
    assert status == 201, body
    engine.start_worker(HELPDESK_VAR_DIR=str(tmp_path / "machine-b"))  # another machine: nothing on its disk
    assert sessions_restore() == 1  # what the schedule does every minute: A's lease is a dead process's

    wait_until(
        lambda: (
            list(
                connection.events.filter(id__gt=lost_at, kind="state")
                .order_by("id")
                .values_list("to_status", flat=True)
            )
            == [Status.STARTING, Status.CONNECTED]
        ),
        timeout=90,
        message="the session CONNECTED on machine B",
    )
    after = connection.events.filter(id__gt=lost_at)
    assert not after.filter(to_status=Status.QR).exists()
    assert not after.filter(message__startswith="QR code").exists()
    assert after.filter(message__startswith="Login restored from the central copy saved").exists()
    connection.refresh_from_db()
    assert connection.qr_code == "" and connection.status == Status.CONNECTED
    assert (tmp_path / "machine-b" / "sessions" / str(connection.pk)).is_dir()
    assert linked_devices(simulator, phone) == devices  # the same device, logged in again: no new link
    figures = metrics_text()
    assert "helpdesk_logins_restored_centrally_total 1" in figures
    assert "helpdesk_saved_logins_refused_total 0" in figures
    wait_until(lambda: Message.objects.filter(body="Ainda aí?").exists(), timeout=30, message="the message")
    time.sleep(3)  # a second copy would come with the catch-up or the live event, both long done
    assert Message.objects.filter(body="Ainda aí?").count() == 1


def test_a_graceful_stop_saves_the_login_before_it_lets_the_lease_go(engine, phone, tmp_path):
    """A worker's SIGINT (a deploy): the login as the closed browser left it is the newest central copy,
    so the next worker, on any machine, starts from it."""
    worker = engine.start_worker()
    connection = engine.connected(phone)
    wait_until(connection.saved_logins.exists, timeout=30, message="the first save after the login")
    first = connection.saved_logins.get()
    profile = engine.var_dir / "sessions" / str(connection.pk)
    (profile / "Default" / "Local Storage" / "written-since").write_text("after the first save")

    asked_at = timezone.now()
    worker.stop()

    newest = connection.saved_logins.first()
    assert newest.version == first.version + 1 and newest.created_at > asked_at
    restored = tmp_path / "restored"
    archive_restore(bytes(newest.data), profile=restored, connection_id=connection.pk)
    assert (restored / "Default" / "Local Storage" / "written-since").read_text() == "after the first save"
    assert Connection.objects.get(pk=connection.pk).lease_owner == ""  # let go after the save
