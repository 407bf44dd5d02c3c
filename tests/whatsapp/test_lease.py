from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ConnectionFactory
from whatsapp.lease import lease_acquire, lease_release, lease_renew, lease_reserve


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


@pytest.mark.django_db
def test_a_lease_held_by_a_dead_process_of_this_machine_is_taken_over_at_once():
    import socket

    connection = ConnectionFactory()
    dead_pid = 2**22 + 1  # above any pid the kernel hands out by default
    assert lease_acquire(connection_id=connection.pk, owner=f"{socket.gethostname()}:{dead_pid}:x")

    assert lease_acquire(connection_id=connection.pk, owner="otherhost:2:b")


@pytest.mark.django_db
def test_a_reused_pid_with_another_start_time_is_not_taken_for_the_live_owner():
    """A restarted container keeps its host name and hands out the same PIDs: the start time tells them apart."""
    import os
    import socket

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


@pytest.mark.django_db
def test_a_starting_worker_takes_back_what_a_stopped_worker_had_reserved(monkeypatch):
    """A session reserved (queued) when the worker stopped is started again at once by the next worker."""
    import os

    from django.core.management import call_command

    from whatsapp import tasks
    from whatsapp.lease import QUEUED

    waiting = ConnectionFactory(enabled=True)
    assert lease_reserve(connection_id=waiting.pk)  # then the worker stopped; the lease has a minute to go
    held = ConnectionFactory(enabled=True)
    assert lease_acquire(connection_id=held.pk, owner="otherhost:1:1:live")
    queued: list[int] = []
    monkeypatch.setattr(
        tasks, "async_task", lambda func, connection_id, **options: queued.append(connection_id)
    )
    monkeypatch.setattr(os, "execv", lambda *args: None)  # the cluster itself is not started here

    call_command("session_worker")

    assert waiting.pk in queued and held.pk not in queued
    waiting.refresh_from_db()
    assert waiting.lease_owner == QUEUED


@pytest.mark.django_db
def test_a_renewal_moves_only_this_connections_lease_forward_and_says_it_was_seen():
    from whatsapp.models import Connection

    mine, other = ConnectionFactory(), ConnectionFactory()
    for connection in (mine, other):
        lease_acquire(connection_id=connection.pk, owner="otherhost:1:a")
    Connection.objects.update(lease_expires_at=timezone.now() + timedelta(seconds=1))

    assert lease_renew(connection_id=mine.pk, owner="otherhost:1:a")

    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.lease_expires_at > timezone.now() + timedelta(seconds=5)  # WHATSAPP_LEASE ahead
    assert mine.last_seen_at is not None and other.last_seen_at is None
    assert other.lease_expires_at < timezone.now() + timedelta(seconds=2)


@pytest.mark.django_db
def test_a_reservation_holds_only_its_connection_until_the_lease_length_is_up():
    from whatsapp.models import Connection

    reserved, other = ConnectionFactory(), ConnectionFactory()

    assert lease_reserve(connection_id=reserved.pk)

    reserved.refresh_from_db()
    assert reserved.lease_expires_at > timezone.now()
    assert Connection.objects.get(pk=other.pk).lease_owner == ""
    assert not lease_reserve(connection_id=reserved.pk)  # one session task per connection
