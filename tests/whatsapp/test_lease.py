import pytest

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
