import threading

import pytest
from django.db import connection as db

from whatsapp.models import Connection
from whatsapp.services import ConnectionLimitReached, connection_create


@pytest.mark.django_db(transaction=True)
def test_the_connection_limit_holds_under_concurrent_creates(settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 5
    for number in range(4):
        connection_create(name=f"Number {number}")
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def create(name: str) -> None:
        start.wait(timeout=10)
        try:
            connection_create(name=name)
            outcomes.append("created")
        except ConnectionLimitReached as error:
            outcomes.append(f"refused {error.current}/{error.maximum}")
        finally:
            db.close()

    threads = [threading.Thread(target=create, args=(f"Racer {n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created", "refused 5/5", "refused 5/5"]
    assert Connection.objects.count() == 5


@pytest.mark.django_db
def test_the_admin_explains_the_limit_on_the_add_form(staff_client, settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 1
    connection_create(name="Only one")

    response = staff_client.post(
        "/admin/whatsapp/connection/add/",
        {"name": "Second", "enabled": "on", "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0},
    )

    assert response.status_code == 200
    assert "at most 1 WhatsApp connections" in response.content.decode()
    assert Connection.objects.count() == 1


@pytest.mark.django_db
def test_the_connections_page_explains_the_limit_on_its_form(staff_client, settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 1
    connection_create(name="Only one")

    response = staff_client.post("/connections/new/", {"name": "Second"})

    assert response.status_code == 200
    assert "at most 1 WhatsApp connections" in response.content.decode()
