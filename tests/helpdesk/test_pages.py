import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from helpdesk.models import AgentState, ApiToken
from tests.factories import (
    ConnectionFactory,
    ContactFactory,
    MessageFactory,
    QueueFactory,
    StaffFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import Message, Queue, Ticket
from whatsapp.models import Connection

PAGES = ["home", "inbox", "contact-list", "connection-list"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_signing_in_and_out(client, db):
    UserFactory(username="maria")

    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "maria", "password": "agent-password"})
    assert response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200

    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_a_wrong_password_is_explained_on_the_form(client, db):
    UserFactory(username="maria")

    response = client.post(reverse("login"), {"username": "maria", "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_home_counts_only_the_tickets_an_agent_may_see(agent_client, agent):
    sales, support = QueueFactory(name="Sales"), QueueFactory(name="Support")
    sales.members.add(agent)
    TicketFactory.create_batch(2, queue=sales, status=Ticket.Status.PENDING)
    TicketFactory(queue=sales, status=Ticket.Status.OPEN)
    TicketFactory.create_batch(3, queue=support, status=Ticket.Status.PENDING)  # not theirs
    TicketFactory(queue=support, status=Ticket.Status.OPEN, assignee=agent)  # theirs by assignment

    response = agent_client.get(reverse("home"))

    assert response.context["tickets"] == {"pending": 2, "open": 2}
    assert "connections" not in response.context
    page = response.content.decode()
    assert reverse("admin:index") not in page and reverse("connection-list") not in page


def test_home_shows_staff_the_connections_by_status(staff_client):
    ConnectionFactory.create_batch(2, status=Connection.Status.CONNECTED)
    ConnectionFactory(status=Connection.Status.QR)

    response = staff_client.get(reverse("home"))

    assert response.context["connections"] == [
        ("QR", "Waiting for QR scan", 1),
        ("CONNECTED", "Connected", 2),
    ]


def test_inbox_lists_the_agents_queues_and_tickets_without_a_queue(agent_client, agent):
    sales, support = QueueFactory(), QueueFactory()
    sales.members.add(agent)
    mine = TicketFactory(queue=sales, contact=ContactFactory(push_name="Ana Sales"))
    unrouted = TicketFactory(queue=None, contact=ContactFactory(push_name="Bruno Unrouted"))
    TicketFactory(queue=support, contact=ContactFactory(push_name="Carla Support"))

    response = agent_client.get(reverse("inbox"))

    # the Waiting tab: the longest wait first
    assert response.context["page"].items == sorted([mine, unrouted], key=lambda t: (t.waiting_since, t.pk))
    assert "Carla Support" not in response.content.decode()


def test_inbox_runs_a_fixed_number_of_queries(agent_client, agent, django_assert_num_queries):
    queue = QueueFactory()
    queue.members.add(agent)
    TicketFactory.create_batch(20, queue=queue)

    # session, user, whether they see every ticket, the user's preferences (muted?), the tabs' counts,
    # the page of tickets with their relations
    with django_assert_num_queries(6):
        agent_client.get(reverse("inbox"))


def test_contacts_are_searched_by_name_or_phone(agent_client):
    # contacts with a ticket no queue took yet: every agent sees them
    TicketFactory(queue=None, contact=ContactFactory(name="Maria Souza", phone="5511988887777"))
    TicketFactory(queue=None, contact=ContactFactory(name="João Lima", phone="5521977776666"))

    by_name = agent_client.get(reverse("contact-list"), {"q": "souza"}).context["page"].items
    by_phone = agent_client.get(reverse("contact-list"), {"q": "2197777"}).context["page"].items

    assert [c.name for c in by_name] == ["Maria Souza"]
    assert [c.name for c in by_phone] == ["João Lima"]


def test_connections_page_is_for_staff_only(agent_client, client, staff):
    assert agent_client.get(reverse("connection-list")).status_code == 403

    ConnectionFactory(name="Vendas", status=Connection.Status.CONNECTED)
    client.force_login(staff)
    response = client.get(reverse("connection-list"))
    assert "Vendas" in response.content.decode() and "Connected" in response.content.decode()


# The newer doors (issue 19): each (URL name, method, the row it would change). Reactions, edits and
# deletions of a message, the scheduled replies and their changes, merging two contacts.
DOORS = [
    ("message-reaction", "post", "sent", {"emoji": "👍"}),
    ("message-edit", "get", "sent", {}),
    ("message-edit", "post", "sent", {"body": "Changed"}),
    ("message-delete", "post", "sent", {}),
    ("ticket-scheduled", "get", None, {}),
    ("scheduled-edit", "post", "scheduled", {"body": "Changed", "send_at": "2030-01-01T10:00"}),
    ("scheduled-cancel", "post", "scheduled", {}),
    ("contact-merge", "get", "contact", {}),
    ("contact-merge", "post", "contact", {}),
]


@pytest.fixture
def doors(db):
    """A ticket of a queue with a reply an agent sent and one scheduled, and two contacts to merge."""
    queue = QueueFactory()
    ticket = TicketFactory(queue=queue, status=Ticket.Status.OPEN)
    author = UserFactory(is_superuser=True)
    sent = MessageFactory(ticket=ticket, from_me=True, author=author, body="Olá", status="sent", wa_id="w1")
    scheduled = MessageFactory(
        ticket=ticket, from_me=True, author=author, body="Depois", status="scheduled", send_at=timezone.now()
    )
    other = ContactFactory()
    return {"ticket": ticket, "sent": sent, "scheduled": scheduled, "contact": ticket.contact, "other": other}


def knock(client, doors: dict, name: str, method: str, row: str | None, data: dict):
    kwargs = {"pk": doors["contact"].pk} if name == "contact-merge" else {"pk": doors["ticket"].pk}
    if row in ("sent", "scheduled"):
        kwargs["message_pk"] = doors[row].pk
    if name == "contact-merge" and method == "post":
        data = {"other": doors["other"].pk, "keep": doors["contact"].pk}
    return getattr(client, method)(reverse(name, kwargs=kwargs), data, headers={"HX-Request": "true"})


def assert_nothing_changed(doors: dict) -> None:
    sent, scheduled = Message.objects.get(pk=doors["sent"].pk), Message.objects.get(pk=doors["scheduled"].pk)
    assert (sent.body, sent.deleted_at, sent.reactions.count(), sent.changes.count()) == ("Olá", None, 0, 0)
    assert (scheduled.body, scheduled.status) == ("Depois", "scheduled")
    assert Contact.objects.filter(pk=doors["other"].pk).exists()


@pytest.mark.parametrize(("name", "method", "row", "data"), DOORS)
def test_the_newer_doors_ask_an_anonymous_visitor_to_sign_in(client, doors, name, method, row, data):
    response = knock(client, doors, name, method, row, data)

    assert response.status_code == 302 and response.url.startswith(reverse("login")), response.status_code
    assert_nothing_changed(doors)


@pytest.mark.parametrize(("name", "method", "row", "data"), DOORS)
def test_the_newer_doors_are_shut_to_a_deactivated_user(client, doors, name, method, row, data):
    former = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(former)
    former.is_active = False
    former.save(update_fields=["is_active"])

    response = knock(client, doors, name, method, row, data)

    assert response.status_code == 302 and response.url.startswith(reverse("login")), response.status_code
    assert_nothing_changed(doors)


@pytest.mark.parametrize(("name", "method", "row", "data"), DOORS)
def test_the_newer_doors_are_shut_to_an_agent_of_another_queue(
    agent_client, agent, doors, name, method, row, data
):
    QueueFactory().members.add(agent)

    response = knock(agent_client, doors, name, method, row, data)

    assert response.status_code in (403, 404), response.status_code
    assert_nothing_changed(doors)


def deactivate(user) -> None:
    """An admin unticks "active" while the user is still signed in (or holds a token)."""
    user.is_active = False
    user.save(update_fields=["is_active"])


# Issue 20's pages: the home page's live part, the header's presence and away switch, the reports and
# their CSV. Each is open to the user before they are deactivated, and shut after.
SIGNED_IN_DOORS = [
    ("get", "overview"),
    ("get", "presence"),
    ("post", "presence"),
    ("get", "reports"),
    ("get", "reports-export"),
]


@pytest.mark.parametrize(("method", "name"), SIGNED_IN_DOORS)
def test_the_overview_presence_and_reports_are_shut_to_a_deactivated_user(client, db, method, name):
    former = StaffFactory()
    client.force_login(former)
    assert client.get(reverse(name)).status_code == 200
    deactivate(former)

    response = getattr(client, method)(reverse(name), {"away": "1"})

    assert response.status_code == 302 and response.url.startswith(reverse("login")), response.status_code
    assert not AgentState.objects.filter(user=former, away=True).exists()


# Issue 20's API calls: a token outlives nothing of its user's rights.
API_DOORS = [("get", "reports/summary"), ("get", "queues"), ("get", "queues/{pk}"), ("patch", "queues/{pk}")]


@pytest.mark.parametrize(("method", "path"), API_DOORS)
def test_the_reports_and_queues_api_refuse_a_deactivated_users_token(client, db, method, path):
    queue = QueueFactory(name="Vendas")
    former = StaffFactory()
    _token, key = ApiToken.issue(user=former)
    url, auth = f"/api/{path.format(pk=queue.pk)}", {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get(url, **auth).status_code == 200
    deactivate(former)

    response = getattr(client, method)(url, {"name": "Changed"}, content_type="application/json", **auth)

    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
    assert Queue.objects.get(pk=queue.pk).name == "Vendas"
