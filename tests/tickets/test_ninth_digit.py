"""A number typed by an agent or a program is the one WhatsApp uses: typed without (or with) a
Brazilian mobile's ninth digit, it finds the customer's contact and ticket, and the message goes to
the id WhatsApp answered."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from helpdesk.presence import socket_open
from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.services import ActionRefused, conversation_start, number_message_send
from whatsapp.models import Connection


@pytest.fixture
def whatsapp_answers(monkeypatch):
    """The session asked which id WhatsApp uses for a number: ``answers`` maps digits to the id."""
    answers: dict[str, str | None] = {}
    asked: list[str] = []

    def resolve(*, connection_id: int, phone: str) -> str | None:
        asked.append(phone)
        return answers.get(phone, f"{phone}@c.us")

    monkeypatch.setattr("tickets.services.session_number_resolve", resolve)
    answers["asked"] = asked  # type: ignore[assignment]
    return answers


@pytest.mark.django_db
def test_a_number_typed_without_the_ninth_digit_joins_the_customers_ticket(agent, whatsapp_answers):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    maria = ContactFactory(phone="5511988887777", wa_id="5511988887777@c.us")
    ticket = TicketFactory(contact=maria, connection=connection, status=Ticket.Status.PENDING)
    whatsapp_answers["551188887777"] = "5511988887777@c.us"

    started = conversation_start(connection=connection, phone="+55 11 8888-7777", by=agent, body="Oi")
    sent = number_message_send(connection=connection, phone="551188887777", by=agent, body="Tudo bem?")

    assert started == ticket and sent.ticket == ticket
    assert Contact.objects.count() == 1
    assert list(ticket.messages.filter(kind="text").values_list("body", flat=True)) == ["Oi", "Tudo bem?"]


@pytest.mark.django_db
def test_the_id_whatsapp_answers_finds_a_contact_by_its_other_id(agent, whatsapp_answers):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    merged = ContactFactory(wa_id="5511988887777@c.us", alias="551188887777@c.us")
    whatsapp_answers["5511988887777"] = "551188887777@c.us"  # an account WhatsApp knows by its old form

    sent = number_message_send(connection=connection, phone="5511988887777", by=agent, body="Oi")

    assert sent.ticket.contact == merged
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_a_new_number_becomes_a_contact_at_the_id_whatsapp_answers(agent, whatsapp_answers):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    whatsapp_answers["552187654321"] = "5521987654321@c.us"

    ticket = conversation_start(connection=connection, phone="552187654321", by=agent)

    assert (ticket.contact.wa_id, ticket.contact.phone) == ("5521987654321@c.us", "5521987654321")
    assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.OPEN)  # no first message: still theirs


@pytest.mark.django_db
def test_a_conversation_started_in_a_queue_that_assigns_by_itself_stays_with_who_started_it(
    agent, whatsapp_answers, django_capture_on_commit_callbacks
):
    queue = QueueFactory(assignment="round_robin")
    colleague = UserFactory()
    queue.members.add(agent, colleague)
    socket_open(user=colleague, channel_name="test!colleague")  # online, never assigned: next in turn
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    connection.queues.add(queue)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = conversation_start(connection=connection, phone="5511977776666", by=agent)

    ticket.refresh_from_db()
    assert (ticket.queue, ticket.assignee, ticket.status) == (queue, agent, Ticket.Status.OPEN)


@pytest.mark.django_db
def test_a_number_without_whatsapp_is_refused_with_nothing_written(agent, whatsapp_answers):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    whatsapp_answers["551188880000"] = None

    with pytest.raises(ActionRefused, match="has no WhatsApp") as refused:
        number_message_send(connection=connection, phone="551188880000", by=agent, body="Oi")

    assert refused.value.code == "NOT_ON_WHATSAPP"
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_the_customers_conversation_in_another_queue_is_refused_before_whatsapp_is_asked(
    agent, whatsapp_answers
):
    """Typed without the ninth digit, Ana's number is still Ana's: the Sales agent may not write into
    her Support conversation, and WhatsApp is not asked in vain."""
    QueueFactory(name="Sales").members.add(agent)
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    TicketFactory(
        connection=connection,
        queue=QueueFactory(name="Support"),
        status=Ticket.Status.OPEN,
        contact=ContactFactory(phone="5511988884444", wa_id="5511988884444@c.us"),
    )

    with pytest.raises(ActionRefused) as refused:
        conversation_start(connection=connection, phone="551188884444", by=agent)

    assert refused.value.code == "CONVERSATION_NOT_VISIBLE"
    assert whatsapp_answers["asked"] == []


@pytest.mark.django_db
def test_a_message_queued_while_offline_goes_to_the_contact_known_either_way(agent):
    connection = ConnectionFactory(status=Connection.Status.DISCONNECTED)
    maria = ContactFactory(phone="5511988887777", wa_id="5511988887777@c.us")

    sent = number_message_send(
        connection=connection, phone="551188887777", by=agent, body="Oi", queue_if_offline=True
    )

    assert sent.ticket.contact == maria


# -- end to end: the simulator answers like WhatsApp, the session asks it ---------------------------


@pytest.mark.django_db(transaction=True)
def test_a_number_typed_without_the_ninth_digit_lands_on_the_existing_ticket(
    engine, simulator, agent, client, api
):
    """Maria writes from her mobile with the ninth digit; the agent starts a conversation typing it
    without, and a program writes to it through the API: one contact, one ticket, both messages to
    the id she wrote from. A customer WhatsApp still knows by the old eight digits is found typed
    with nine."""
    phone = "5511855509999"
    engine.start_worker()
    connection = engine.connected(phone)
    for sender, body in [("5548991234567", "Oi, sou a Maria"), ("554891112222", "Sou o Rui")]:
        status, _answer = simulator.post(
            "/_sim/messages", {"account": phone, "from": sender, "name": "Cliente", "body": body}
        )
        assert status == 201
    wait_until(lambda: Ticket.objects.count() == 2, timeout=20, message="the customers' tickets")
    maria = Ticket.objects.get(contact__wa_id="5548991234567@c.us")
    rui = Ticket.objects.get(contact__wa_id="554891112222@c.us")
    client.force_login(agent)

    started = client.post(
        reverse("conversation-new"),
        {"connection": connection.pk, "phone": "+55 48 9123-4567", "body": "Olá!"},
    )
    by_api = api("POST", f"connections/{connection.pk}/messages", {"to": "554891234567", "body": "Pelo API"})
    to_rui = api("POST", f"connections/{connection.pk}/messages", {"to": "5548991112222", "body": "Oi Rui"})

    assert started.url == reverse("ticket", args=[maria.pk])
    assert by_api.json()["ticket"] == maria.pk and to_rui.json()["ticket"] == rui.pk
    assert (Contact.objects.count(), Ticket.objects.count()) == (2, 2)
    wait_until(
        lambda: Message.objects.filter(from_me=True, kind="text", status="sent").count() == 3,
        timeout=20,
        message="the three sends",
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["to"], m["body"]) for m in outbox] == [
        ("5548991234567@c.us", "Olá!"),
        ("5548991234567@c.us", "Pelo API"),
        ("554891112222@c.us", "Oi Rui"),
    ]
