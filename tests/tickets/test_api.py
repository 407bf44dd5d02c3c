import pytest
from django.urls import reverse

from helpdesk.models import ApiToken
from helpdesk.presence import socket_open
from tests.factories import (
    ConnectionFactory,
    ContactFactory,
    MessageFactory,
    QueueFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import Message, Queue, Ticket
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def test_tickets_are_listed_filtered_and_paged_by_cursor(api):
    queue = QueueFactory()
    TicketFactory.create_batch(55, queue=queue, status="pending")
    TicketFactory(status="closed", contact=ContactFactory(name="Zé Fechado"))

    first = api("GET", f"tickets?status=pending&queue={queue.pk}").json()
    second = api("GET", f"tickets?status=pending&queue={queue.pk}&cursor={first['next_cursor']}").json()

    assert len(first["results"]) == 50 and len(second["results"]) == 5 and second["next_cursor"] is None
    assert {t["id"] for t in first["results"]}.isdisjoint(t["id"] for t in second["results"])
    assert [t["contact"]["name"] for t in api("GET", "tickets?search=fechado").json()["results"]] == [
        "Zé Fechado"
    ]
    assert api("GET", "tickets?queue=abc").json()["error_code"] == "VALIDATION_ERROR"


def test_a_ticket_and_its_messages(api):
    message = MessageFactory(body="Olá")

    assert (
        api("GET", f"tickets/{message.ticket_id}").json()["contact"]["wa_id"] == message.ticket.contact.wa_id
    )
    assert [m["body"] for m in api("GET", f"tickets/{message.ticket_id}/messages").json()["results"]] == [
        "Olá"
    ]
    assert api("GET", "tickets/999").status_code == 404


def test_a_reply_is_queued_for_the_session(api, staff):
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Bom dia!"})
    empty = api("POST", f"tickets/{ticket.pk}/messages", {"body": "  "})

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["author"]) == ("queued", staff.pk)
    assert (empty.status_code, empty.json()["error_code"]) == (400, "VALIDATION_ERROR")
    assert Message.objects.filter(ticket=ticket, from_me=True).exclude(kind=Message.Kind.SYSTEM).count() == 1


def test_close_reopen_assign_transfer(api):
    ticket = TicketFactory(status="pending")
    agent, queue = UserFactory(), QueueFactory()

    assert api("POST", f"tickets/{ticket.pk}/assign", {"user": agent.pk}).json()["status"] == "open"
    transferred = api("POST", f"tickets/{ticket.pk}/transfer", {"queue": queue.pk}).json()
    assert (transferred["queue"], transferred["assignee"], transferred["status"]) == (
        queue.pk,
        None,
        "pending",
    )
    closed = api("POST", f"tickets/{ticket.pk}/close").json()
    assert (closed["status"], closed["close_reason"]) == ("closed", "api")
    TicketFactory(contact=ticket.contact, connection=ticket.connection, status="open")
    refused = api("POST", f"tickets/{ticket.pk}/reopen")
    assert (refused.status_code, refused.json()["error_code"]) == (409, "TICKET_ALREADY_OPEN")
    assert (
        api("POST", f"tickets/{ticket.pk}/assign", {"user": 999}).json()["error_code"] == "VALIDATION_ERROR"
    )


def test_contacts_are_searched(api):
    ContactFactory(name="Maria Souza", phone="5511988887777")
    ContactFactory(name="João")

    found = api("GET", "contacts?search=souza").json()["results"]

    assert [c["name"] for c in found] == ["Maria Souza"]
    assert api("GET", f"contacts/{found[0]['id']}").json()["phone"] == "5511988887777"


def test_writing_from_a_connection_that_is_not_connected(api):
    connection = Connection.objects.create(name="Vendas")

    refused = api("POST", f"connections/{connection.pk}/messages", {"to": "5511988887777", "body": "Oi"})
    queued = api(
        "POST",
        f"connections/{connection.pk}/messages",
        {"to": "+55 11 98888-7777", "body": "Oi", "queue_if_offline": True},
    )
    bad = api("POST", f"connections/{connection.pk}/messages", {"to": "12", "body": "Oi"})

    assert (refused.status_code, refused.json()["error_code"]) == (409, "ACCOUNT_NOT_READY")
    assert queued.status_code == 201 and queued.json()["status"] == "queued"
    assert Ticket.objects.get().contact.wa_id == "5511988887777@c.us"
    assert (bad.status_code, bad.json()["error_code"]) == (400, "VALIDATION_ERROR")


@pytest.fixture
def agent_api(client):
    """The API as a staff user who is an agent of Sales only (no permission to see every ticket)."""
    agent = UserFactory(is_staff=True)
    QueueFactory(name="Sales").members.add(agent)
    _token, key = ApiToken.issue(user=agent)

    def call(method: str, path: str, body=None):
        return getattr(client, method.lower())(
            f"/api/{path}", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    return call


def test_the_api_does_not_write_where_its_caller_cannot_read(agent_api):
    """A number whose open ticket is in Support, which the Sales agent cannot read (404), or a blocked
    contact: 409, nothing written, the same refusals as the page's Start a conversation."""
    connection = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    theirs = TicketFactory(
        connection=connection,
        queue=QueueFactory(name="Support"),
        status=Ticket.Status.OPEN,
        contact=ContactFactory(name="Ana", phone="5511955554444"),
    )
    ContactFactory(name="Rui", phone="5511955553333", blocked=True)

    def send(to: str):
        payload = {"to": to, "body": "Oi", "queue_if_offline": True}
        return agent_api("POST", f"connections/{connection.pk}/messages", payload)

    hidden, blocked = send("5511955554444"), send("5511955553333")

    assert agent_api("GET", f"tickets/{theirs.pk}").status_code == 404
    assert (hidden.status_code, hidden.json()) == (
        409,
        {
            "error_code": "CONVERSATION_NOT_VISIBLE",
            "message": "This number already has a conversation you cannot see; ask a supervisor.",
        },
    )
    assert (blocked.status_code, blocked.json()) == (
        409,
        {"error_code": "CONTACT_BLOCKED", "message": "This number is blocked; ask a supervisor."},
    )
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 0)


def send_offline(call, connection: Connection, to: str):
    payload = {"to": to, "body": "Oi", "queue_if_offline": True}  # WhatsApp is not asked
    return call("POST", f"connections/{connection.pk}/messages", payload)


def test_a_conversation_an_agent_starts_through_the_api_is_theirs(agent_api):
    connection = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    sales = Queue.objects.get(name="Sales")
    connection.queues.add(sales)
    agent = sales.members.get()

    sent = send_offline(agent_api, connection, "5511955554444")

    assert sent.status_code == 201
    ticket = Ticket.objects.get()
    assert (ticket.assignee, ticket.status, ticket.queue) == (agent, Ticket.Status.OPEN, sales)


def test_a_conversation_an_integration_starts_goes_to_its_queues_assignment(
    api, django_capture_on_commit_callbacks
):
    """A token of a user in no queue (an integration) takes nothing: the ticket enters its queue as a
    customer's new one does, given at once by a queue that assigns by itself, else waiting."""
    robin = QueueFactory(assignment=Queue.Assignment.ROUND_ROBIN)
    ana = UserFactory()
    robin.members.add(ana)
    socket_open(user=ana, channel_name="test!ana")
    to_robin = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    to_robin.queues.add(robin)
    manual = QueueFactory()
    manual.members.add(ana)
    to_manual = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    to_manual.queues.add(manual)

    with django_capture_on_commit_callbacks(execute=True):
        assert send_offline(api, to_robin, "5511955554444").status_code == 201
        assert send_offline(api, to_manual, "5511955553333").status_code == 201

    given, waiting = Ticket.objects.get(queue=robin), Ticket.objects.get(queue=manual)
    assert (given.assignee, given.status) == (ana, Ticket.Status.OPEN)
    assert (waiting.assignee, waiting.status) == (None, Ticket.Status.PENDING)


def test_the_api_writing_into_a_waiting_ticket_takes_nothing(agent_api):
    connection = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    sales = Queue.objects.get(name="Sales")
    under_way = TicketFactory(
        connection=connection, queue=sales, contact=ContactFactory(phone="5511955554444")
    )

    assert send_offline(agent_api, connection, "5511955554444").status_code == 201

    under_way.refresh_from_db()
    assert (under_way.assignee, under_way.status) == (None, Ticket.Status.PENDING)


def test_the_api_searches_as_the_pages_do(api, staff_client):
    """The same words find the same tickets and contacts in the API as in the inbox and on Contacts:
    a message's text (not only the last one's preview), a number typed as people type it."""
    ticket = MessageFactory(body="Where is my boleto?", ticket__last_message_preview="Thanks!").ticket
    maria = ContactFactory(name="Maria", phone="5511988887777", email="maria@example.com")
    TicketFactory(contact=maria)

    def api_finds(path: str) -> set[int]:
        return {found["id"] for found in api("GET", path).json()["results"]}

    inbox = staff_client.get(reverse("inbox"), {"tab": "waiting", "q": "boleto"}).context["page"].items
    contacts = staff_client.get(reverse("contact-list"), {"q": "+55 11 98888"}).context["page"].items
    assert [t.pk for t in inbox] == [ticket.pk] and [c.pk for c in contacts] == [maria.pk]
    assert api_finds("tickets?search=boleto") == {ticket.pk}
    assert api_finds("contacts?search=%2B55%2011%2098888") == {maria.pk}
    assert api_finds("contacts?search=maria@example.com") == set()  # the pages do not search emails


def test_a_contact_shows_its_lid_and_a_hidden_phone_as_empty(api, staff_client):
    """A person WhatsApp knows by phone and LID, and one whose phone it hides: ``lid`` says the LID,
    ``phone`` is "" (never the LID's digits), and searching the LID's digits finds either, in the
    API and on the Contacts page."""
    both = ContactFactory(phone="5511988887777", alias="123456789012345@lid")
    hidden = ContactFactory(phone="", wa_id="987654321098765@lid")
    by_phone = ContactFactory(phone="5511977776666")

    def found(search: str) -> list[tuple]:
        results = api("GET", f"contacts?search={search}").json()["results"]
        return sorted((c["id"], c["lid"], c["phone"]) for c in results)

    assert found("") == [
        (both.pk, "123456789012345@lid", "5511988887777"),
        (hidden.pk, "987654321098765@lid", ""),
        (by_phone.pk, None, "5511977776666"),
    ]
    assert found("1234 5678 9012") == [(both.pk, "123456789012345@lid", "5511988887777")]
    assert found("98765432109") == [(hidden.pk, "987654321098765@lid", "")]
    assert api("GET", f"contacts/{hidden.pk}").json()["wa_id"] == "987654321098765@lid"
    page = staff_client.get(reverse("contact-list"), {"q": "987654321098765"}).context["page"].items
    assert [c.pk for c in page] == [hidden.pk]
