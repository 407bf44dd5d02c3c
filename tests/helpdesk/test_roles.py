"""Roles are model permissions, as in the admin: being staff grants nothing by itself."""

import pytest
from django.urls import reverse

from helpdesk.models import ApiToken
from tests.factories import ConnectionFactory, QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare_staff(client):
    """A staff user (may open the admin) with no permission at all."""
    user = UserFactory(is_staff=True)
    client.force_login(user)
    return user


def test_staff_without_permissions_see_only_their_queues_and_no_connection(client, bare_staff):
    mine, other = QueueFactory(), QueueFactory()
    mine.members.add(bare_staff)
    visible, hidden = TicketFactory(queue=mine), TicketFactory(queue=other)
    connection = ConnectionFactory()

    listed = client.get(reverse("inbox"), {"tab": "waiting"}).context["page"].items

    assert listed == [visible]
    assert client.get(reverse("ticket", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("connection-list")).status_code == 403
    assert client.get(reverse("connection-detail", args=[connection.pk])).status_code == 403
    assert client.post(reverse("connection-action", args=[connection.pk, "stop"])).status_code == 403
    assert "Connections" not in client.get(reverse("home")).content.decode()


def test_a_staff_api_token_needs_the_permission_of_each_call(client, bare_staff):
    connection = ConnectionFactory()
    hidden = TicketFactory(queue=QueueFactory())
    _token, key = ApiToken.issue(user=bare_staff)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    deleting = client.delete(f"/api/connections/{connection.pk}", **auth)
    webhook = client.put(
        f"/api/connections/{connection.pk}/webhook", data="{}", content_type="application/json", **auth
    )
    reading = client.get(f"/api/tickets/{hidden.pk}", **auth)

    assert (deleting.status_code, deleting.json()["error_code"]) == (403, "FORBIDDEN")
    assert "whatsapp.delete_connection" in deleting.json()["message"]
    assert webhook.status_code == 403
    assert reading.status_code == 404
    assert client.get("/metrics", **auth).status_code == 403


def test_supervisors_see_every_ticket_and_the_connections_but_cannot_change_them(client, supervisor):
    tickets = TicketFactory.create_batch(2, queue=QueueFactory())
    connection = ConnectionFactory()

    page = client.get(reverse("inbox"), {"tab": "all"})

    assert page.context["filters"].tab == "all"
    assert {t.pk for t in page.context["page"].items} == {t.pk for t in tickets}
    assert client.get(reverse("connection-detail", args=[connection.pk])).status_code == 200
    assert client.post(reverse("connection-action", args=[connection.pk, "stop"])).status_code == 403
    assert "Connections" in client.get(reverse("home")).content.decode()
