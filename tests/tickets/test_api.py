import pytest

from tests.factories import ContactFactory, MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Message, Ticket
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
