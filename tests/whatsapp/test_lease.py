import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models.functions import Now
from django.utils import timezone

from tests.factories import ConnectionFactory
from tests.processes import wait_until
from tests.tickets.test_inbound import CUSTOMER, inbound
from tests.tickets.test_inbound_media import document
from tickets.models import Message
from whatsapp.dead_letters import chat_batch_store
from whatsapp.lease import (
    LeaseLost,
    lease_acquire,
    lease_fence,
    lease_fenced,
    lease_is_live,
    lease_release,
    lease_renew,
    lease_reserve,
    leases_queued_release,
)
from whatsapp.models import Connection, ConnectionEvent, DeadLetter


@pytest.mark.django_db
def test_a_held_lease_refuses_a_second_worker(settings):
    connection = ConnectionFactory()

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:1:a")
    assert not lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")
    assert not lease_reserve(connection_id=connection.pk)
    assert not lease_renew(connection_id=connection.pk, owner="otherhost:2:b")
    assert lease_renew(connection_id=connection.pk, owner="otherhost:1:a")

    lease_release(connection_id=connection.pk, owner="otherhost:1:a")
    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


@pytest.mark.django_db
def test_an_expired_lease_can_be_taken_over(settings):
    settings.WHATSAPP_LEASE = -1  # every lease is born expired
    connection = ConnectionFactory()

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:1:a")
    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


DEAD_PID = 2**22 + 1  # above any pid the kernel hands out by default


@pytest.mark.django_db
def test_a_lease_held_by_a_dead_process_of_this_machine_is_taken_over_at_once():
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=f"{socket.gethostname()}:{DEAD_PID}:x")

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


@pytest.mark.django_db
def test_a_reused_pid_with_another_start_time_is_not_taken_for_the_live_owner():
    """A restarted container keeps its host name and hands out the same PIDs: the start time tells them apart."""
    from whatsapp.lease import lease_owner_id

    connection = ConnectionFactory()
    host, pid, started, _ = lease_owner_id().split(":")
    assert (host, pid) == (socket.gethostname(), str(os.getpid())) and int(started) > 0
    # The same host and this very (running) PID, but a start time this process does not have.
    assert lease_acquire(connection_id=connection.pk, owner=f"{host}:{pid}:{int(started) + 1}:old")

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


@pytest.mark.django_db
def test_the_live_owner_of_this_machine_keeps_its_lease():
    from whatsapp.lease import lease_owner_id

    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=lease_owner_id())

    assert not lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")
    assert not lease_reserve(connection_id=connection.pk)


@pytest.mark.django_db
def test_expiry_is_judged_by_the_database_clock_not_the_worker_clock(settings, monkeypatch):
    """A worker whose clock runs an hour fast must neither steal a live lease nor hand out one already expired."""
    from datetime import timedelta

    from django.utils import timezone

    settings.WHATSAPP_LEASE = 60
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner="otherhost:1:1:a")
    connection.refresh_from_db()
    assert connection.lease_expires_at > timezone.now()

    fast = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: fast)  # this worker's clock runs an hour ahead
    assert not lease_acquire(connection_id=connection.pk, owner="otherhost:2:2:b")


@pytest.mark.django_db(transaction=True)  # the worker closes its connections before the cluster forks
def test_a_starting_worker_takes_back_what_a_stopped_worker_had_reserved(monkeypatch):
    """A session reserved (queued) when the worker stopped is started again at once by the next worker."""
    from unittest.mock import Mock

    from django.core.management import call_command

    from whatsapp import tasks
    from whatsapp.lease import QUEUED
    from whatsapp.management.commands import session_worker

    waiting = ConnectionFactory(enabled=True)
    assert lease_reserve(connection_id=waiting.pk)  # then the worker stopped; the lease has a minute to go
    held = ConnectionFactory(enabled=True)
    assert lease_acquire(connection_id=held.pk, owner="otherhost:1:1:live")
    queued: list[int] = []
    monkeypatch.setattr(
        tasks, "async_task", lambda func, connection_id, **options: queued.append(connection_id)
    )
    monkeypatch.setattr(session_worker.Conf, "CLUSTER_NAME", tasks.SESSIONS_CLUSTER)  # as manage.py sets it
    monkeypatch.setattr(session_worker, "Cluster", Mock())  # the cluster itself is not started here

    call_command("session_worker")

    assert waiting.pk in queued and held.pk not in queued
    waiting.refresh_from_db()
    assert waiting.lease_owner == QUEUED


# -- the fence: a session writes only while it holds the lease -----------------------------------

LIVE = "otherhost:1:1:a"  # a holder on another machine: only its expiry frees its lease


@pytest.fixture
def held(settings):
    settings.WHATSAPP_LEASE = 60
    connection = ConnectionFactory(name="before")
    assert lease_acquire(connection_id=connection.pk, owner=LIVE)
    return connection


def taken_over(connection) -> None:
    """Another worker took the lease (after it expired, or from the restore schedule)."""
    Connection.objects.filter(pk=connection.pk).update(lease_owner="otherhost:2:2:b")


def expired(connection) -> None:
    """Nobody took it yet, but the lease ran out by the database's clock."""
    Connection.objects.filter(pk=connection.pk).update(lease_expires_at=Now() - timedelta(seconds=1))


def name_of(connection) -> str:
    return Connection.objects.values_list("name", flat=True).get(pk=connection.pk)


@pytest.mark.django_db
def test_a_fenced_transaction_commits_while_the_lease_is_held(held):
    with lease_fenced(connection_id=held.pk, owner=LIVE):
        Connection.objects.filter(pk=held.pk).update(name="written")

    assert name_of(held) == "written"


@pytest.mark.django_db
@pytest.mark.parametrize("lose", [taken_over, expired])
def test_a_lease_lost_while_the_transaction_runs_rolls_all_of_it_back(held, lose):
    """The check comes last: a lease lost after the batch began still costs the whole batch."""
    with pytest.raises(LeaseLost), lease_fenced(connection_id=held.pk, owner=LIVE):
        Connection.objects.filter(pk=held.pk).update(name="written")
        lose(held)

    assert name_of(held) == "before"


@pytest.mark.django_db
def test_the_fence_judges_expiry_by_the_database_clock(held, monkeypatch):
    """A worker whose clock is an hour off neither loses a live lease nor keeps an expired one."""
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(hours=1))
    lease_fence(connection_id=held.pk, owner=LIVE)

    monkeypatch.setattr(timezone, "now", lambda: real_now - timedelta(hours=1))
    expired(held)
    with pytest.raises(LeaseLost):
        lease_fence(connection_id=held.pk, owner=LIVE)


@pytest.mark.django_db
def test_an_expired_lease_is_not_renewed_even_if_nobody_took_it(held):
    expired(held)

    assert not lease_renew(connection_id=held.pk, owner=LIVE)


@pytest.mark.django_db
def test_a_lease_is_live_by_the_database_clock(held, monkeypatch):
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(hours=1))
    assert lease_is_live(Connection.objects.get(pk=held.pk))

    monkeypatch.setattr(timezone, "now", lambda: real_now - timedelta(hours=1))
    expired(held)
    assert not lease_is_live(Connection.objects.get(pk=held.pk))


@pytest.mark.django_db
def test_files_of_a_batch_that_lost_its_lease_are_removed_with_its_rows(held, settings, tmp_path):
    """The batch's own block hands its files to the fence's block: the rollback removes them."""
    settings.MEDIA_ROOT = tmp_path / "media"
    batch = [document(1, "contrato.pdf"), inbound(2, body="e o contrato")]

    with pytest.raises(LeaseLost), lease_fenced(connection_id=held.pk, owner=LIVE):
        chat_batch_store(connection=held, chat=CUSTOMER, messages=batch)
        assert list((tmp_path / "media").rglob("*.pdf"))  # written, as the batch goes
        taken_over(held)

    assert not Message.objects.exists() and not DeadLetter.objects.exists()
    assert not [path for path in (tmp_path / "media").rglob("*") if path.is_file()]


@contextmanager
def fence_held_elsewhere(held, *, first=lambda: None) -> Iterator[None]:
    """A session's thread holds the fence of ``held`` (after ``first``, in the same transaction),
    which commits when the block ends."""
    fenced, commit = threading.Event(), threading.Event()

    def session() -> None:
        with transaction.atomic():
            first()
            lease_fence(connection_id=held.pk, owner=LIVE)
            fenced.set()
            commit.wait(timeout=30)

    thread = in_a_thread(session)
    assert fenced.wait(timeout=30)
    try:
        yield
    finally:
        commit.set()
        thread.join(timeout=30)


def in_a_thread(work) -> threading.Thread:
    """``work`` started in a thread with a database connection of its own, closed at its end."""

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_takeover_waits_until_the_fenced_transaction_has_committed(held):
    """Between the fence and the commit the lease row is locked: no takeover slips in (PostgreSQL;
    on SQLite the transaction's write lock serializes every writer anyway)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")

    def batch() -> None:  # refers to the row the fence locks
        ConnectionEvent.objects.create(connection_id=held.pk, message="batch")

    with fence_held_elsewhere(held, first=batch):
        takeover = in_a_thread(
            lambda: Connection.objects.filter(pk=held.pk).update(lease_owner="otherhost:2:2:b")
        )
        wait_until(lambda: waiting_on_a_lock("lease_owner"), timeout=10, message="the takeover to wait")
        assert Connection.objects.values_list("lease_owner", flat=True).get(pk=held.pk) == LIVE
    takeover.join(timeout=30)

    assert Connection.objects.values_list("lease_owner", flat=True).get(pk=held.pk) == "otherhost:2:2:b"
    assert ConnectionEvent.objects.filter(connection_id=held.pk, message="batch").exists()


@pytest.mark.django_db(transaction=True)
def test_a_session_frozen_inside_a_fenced_transaction_holds_a_takeover_only_until_the_server_ends_it(
    held, monkeypatch
):
    """A session frozen (SIGSTOP) between its fence and its commit keeps the lease row locked; the
    server ends a transaction idle that long (DATABASE_IDLE_TRANSACTION_TIMEOUT, 60 s by default,
    1 s here), the takeover goes through and the frozen batch is never written."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and idle transaction timeouts are PostgreSQL's")
    options = connections.settings["default"]["OPTIONS"]
    assert options["options"] == "-c idle_in_transaction_session_timeout=60000"
    monkeypatch.setitem(options, "options", "-c idle_in_transaction_session_timeout=1000")
    fenced, resumed, outcome = threading.Event(), threading.Event(), {}

    def frozen_session() -> None:
        try:
            with transaction.atomic():
                ConnectionEvent.objects.create(connection_id=held.pk, message="batch")
                lease_fence(connection_id=held.pk, owner=LIVE)
                fenced.set()
                resumed.wait(timeout=30)
                ConnectionEvent.objects.create(connection_id=held.pk, message="after the freeze")
        except DatabaseError as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    session = threading.Thread(target=frozen_session)
    session.start()
    assert fenced.wait(timeout=30)
    started = time.monotonic()
    Connection.objects.filter(pk=held.pk).update(lease_owner="otherhost:2:2:b")
    waited = time.monotonic() - started
    resumed.set()
    session.join(timeout=30)

    assert waited < 15, f"the takeover waited {waited:.1f} s"
    assert Connection.objects.values_list("lease_owner", flat=True).get(pk=held.pk) == "otherhost:2:2:b"
    assert not ConnectionEvent.objects.filter(message__in=["batch", "after the freeze"]).exists()
    assert "error" in outcome, "the frozen session's transaction was not ended"


@pytest.mark.django_db(transaction=True)
def test_a_fenced_commit_does_not_hold_up_another_chat_storing_its_messages(held):
    """The fence locks the connection's row only against a takeover (FOR NO KEY UPDATE): another
    chat of the same session, inserting rows that refer to the connection, goes on meanwhile
    (a plain FOR UPDATE would make every chat wait for each other's commit)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    with fence_held_elsewhere(held):
        another_chat = in_a_thread(
            lambda: ConnectionEvent.objects.create(connection_id=held.pk, message="another chat's batch")
        )
        another_chat.join(timeout=10)
        stored_meanwhile = not another_chat.is_alive()

    assert stored_meanwhile, "the other chat waited for the fenced transaction to commit"


def waiting_on_a_lock(text: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            [f"%{text}%"],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db
def test_a_renewal_moves_only_this_connections_lease_forward_and_says_it_was_seen():
    mine, other = ConnectionFactory(), ConnectionFactory()
    for held in (mine, other):
        lease_acquire(connection_id=held.pk, owner="otherhost:1:a")
    Connection.objects.update(lease_expires_at=timezone.now() + timedelta(seconds=1))

    assert lease_renew(connection_id=mine.pk, owner="otherhost:1:a")

    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.lease_expires_at > timezone.now() + timedelta(seconds=5)  # WHATSAPP_LEASE ahead
    assert mine.last_seen_at is not None and other.last_seen_at is None
    assert other.lease_expires_at < timezone.now() + timedelta(seconds=2)


@pytest.mark.django_db
def test_a_reservation_holds_only_its_connection_until_the_lease_length_is_up():
    reserved, other = ConnectionFactory(), ConnectionFactory()

    assert lease_reserve(connection_id=reserved.pk)

    reserved.refresh_from_db()
    assert reserved.lease_expires_at > timezone.now()
    assert Connection.objects.get(pk=other.pk).lease_owner == ""
    assert not lease_reserve(connection_id=reserved.pk)  # one session task per connection


# -- a reservation, a release, and who counts as alive ---------------------------------------------


def dead_local_owner() -> str:
    return f"{socket.gethostname()}:{DEAD_PID}:1:x"


@pytest.mark.django_db
def test_the_session_a_reservation_was_made_for_takes_its_connection():
    connection = ConnectionFactory()
    assert lease_reserve(connection_id=connection.pk)

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:1:1:session")


@pytest.mark.django_db
def test_a_connection_whose_holder_died_on_this_machine_is_reserved_at_once_and_not_shown_running():
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=dead_local_owner())
    connection.refresh_from_db()

    assert not lease_is_live(connection)
    assert lease_reserve(connection_id=connection.pk)


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_releases_nothing_of_the_new_holders(settings):
    connection = ConnectionFactory()
    settings.WHATSAPP_LEASE = -1
    assert lease_acquire(connection_id=connection.pk, owner="otherhost:1:1:old")
    settings.WHATSAPP_LEASE = 60
    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:2:new")  # took over

    lease_release(connection_id=connection.pk, owner="otherhost:1:1:old")  # the old one stops

    connection.refresh_from_db()
    assert connection.lease_owner == "otherhost:2:2:new" and lease_is_live(connection)


@pytest.mark.django_db
def test_a_live_owner_written_in_the_older_form_without_a_start_time_keeps_its_lease():
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=f"{socket.gethostname()}:{os.getpid()}:12345678")

    assert not lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


@pytest.mark.django_db
def test_a_holder_that_exited_but_was_not_reaped_yet_is_dead():
    zombie = subprocess.Popen(["true"])
    wait_until(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    connection = ConnectionFactory()
    assert lease_acquire(connection_id=connection.pk, owner=f"{socket.gethostname()}:{zombie.pid}:x")

    try:
        assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")
    finally:
        zombie.wait()


def started_ticks(pid: int) -> int:
    """Field 22 of proc(5), the start time, read after the last ")" (a name may hold one)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])


@pytest.mark.django_db
def test_a_live_holder_whose_name_holds_a_parenthesis_keeps_its_lease(tmp_path):
    program = tmp_path / "worker) 1"
    shutil.copy("/bin/sleep", program)
    holder = subprocess.Popen([str(program), "60"])
    try:
        connection = ConnectionFactory()
        owner = f"{socket.gethostname()}:{holder.pid}:{started_ticks(holder.pid)}:x"
        assert lease_acquire(connection_id=connection.pk, owner=owner)

        assert not lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.django_db
def test_a_released_lease_and_a_dropped_reservation_leave_no_expiry_behind():
    held, reserved = ConnectionFactory(), ConnectionFactory()
    assert lease_acquire(connection_id=held.pk, owner="otherhost:1:1:a")
    assert lease_reserve(connection_id=reserved.pk)

    lease_release(connection_id=held.pk, owner="otherhost:1:1:a")
    assert leases_queued_release() == 1

    leases = Connection.objects.order_by("pk").values_list("lease_owner", "lease_expires_at")
    assert list(leases) == [("", None), ("", None)]  # what the admin shows: nobody holds them
