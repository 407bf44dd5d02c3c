import pytest

from helpdesk.models import ApiToken
from tests.factories import ConnectionEventFactory, ConnectionFactory
from whatsapp.models import Connection, ConnectionEvent

pytestmark = pytest.mark.django_db


def test_metrics_need_an_admin_or_a_staff_token(client, agent, staff):
    assert client.get("/metrics").status_code == 401
    _token, key = ApiToken.issue(user=agent)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 403
    _token, key = ApiToken.issue(user=staff)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_metrics_count_states_events_and_memory(client, staff):
    running = ConnectionFactory(
        name='Vendas "SP"', status=Connection.Status.CONNECTED, lease_owner="h:1:a", browser_memory=123456
    )
    ConnectionFactory(status=Connection.Status.QR)
    ConnectionEventFactory.create_batch(3, connection=running, data={"metric": "qr_code"})
    ConnectionEventFactory(connection=running, data={"metric": "launch_failure"})
    client.force_login(staff)

    text = client.get("/metrics").content.decode()

    assert 'helpdesk_connections{status="CONNECTED"} 1' in text
    assert 'helpdesk_connections{status="FAILED"} 0' in text
    assert "helpdesk_qr_codes_total 3" in text
    assert "helpdesk_browser_launch_failures_total 1" in text
    assert f'helpdesk_browser_memory_bytes{{connection="{running.pk}",name="Vendas \\"SP\\""}} 123456' in text


def test_counters_read_only_new_events_and_survive_the_pruning(client, staff):
    connection = ConnectionFactory()
    ConnectionEventFactory.create_batch(2, connection=connection, data={"metric": "scan"})
    client.force_login(staff)
    assert "helpdesk_qr_scans_total 2" in client.get("/metrics").content.decode()

    ConnectionEvent.objects.all().delete()  # the schedule pruned them
    ConnectionEventFactory(connection=connection, data={"metric": "scan"})

    assert "helpdesk_qr_scans_total 3" in client.get("/metrics").content.decode()
