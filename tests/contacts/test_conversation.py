"""Start a conversation (/contacts/new/): the number asked of WhatsApp, the ticket the agent's."""

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket
from whatsapp import session_requests
from whatsapp.models import Connection


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["12", "+55 11 9888a-7777", "٥٥١١٩٨٨٨٨٧٧٧٧", "5511988887777" * 2])
def test_a_bad_number_is_a_field_error_that_keeps_what_was_typed(agent_client, phone):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)

    response = agent_client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": phone, "body": "Oi, tudo bem?"}
    )

    assert response.status_code == 400
    assert "phone" in response.context["form"].errors
    assert "Oi, tudo bem?" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_connection_that_is_not_connected_is_a_form_error(agent_client):
    connection = ConnectionFactory(name="Vendas", status=Connection.Status.DISCONNECTED)

    response = agent_client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": "5511988887777"}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["Vendas is not connected."]
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_session_that_does_not_answer_is_a_form_error(agent_client, channel_layer, monkeypatch):
    monkeypatch.setattr(session_requests, "REPLY_TIMEOUT", 0.2)
    connection = ConnectionFactory(name="Vendas", status=Connection.Status.CONNECTED)  # no session runs

    response = agent_client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": "5511988887777"}
    )

    assert response.context["form"].non_field_errors() == ["Vendas does not answer; try again shortly."]
    assert not Ticket.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_agent_writes_first_and_lands_on_their_ticket(engine, simulator, agent, client):
    engine.start_worker()
    phone = "5511855501234"
    connection = engine.connected(phone)
    client.force_login(agent)

    nobody = client.post(reverse("conversation-new"), {"connection": connection.pk, "phone": "5511988880000"})
    started = client.post(
        reverse("conversation-new"),
        {"connection": connection.pk, "phone": "+55 11 95555-4444", "body": "Promoção!"},
    )

    assert nobody.context["form"].non_field_errors() == [
        "+55 11 98888-0000 has no WhatsApp."
    ]  # as every page writes a number
    ticket = Ticket.objects.get()
    assert started.url == reverse("ticket", args=[ticket.pk])
    assert (ticket.contact.wa_id, ticket.assignee, ticket.status) == (
        "5511955554444@c.us",
        agent,
        Ticket.Status.OPEN,
    )
    wait_until(
        lambda: Message.objects.filter(body="Promoção!", status="sent").exists(),
        timeout=20,
        message="the send",
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["to"], m["body"]) for m in outbox] == [("5511955554444@c.us", "Promoção!")]


@pytest.mark.django_db(transaction=True)
def test_a_colleagues_conversation_or_a_blocked_contact_is_refused(engine, simulator, agent, client):
    engine.start_worker()
    connection = engine.connected("5511855505678")
    TicketFactory(
        connection=connection,
        assignee=UserFactory(username="bia"),
        status=Ticket.Status.OPEN,
        contact=ContactFactory(name="Ana", phone="5511955554444"),
    )
    ContactFactory(name="Rui", phone="5511955553333", blocked=True)
    client.force_login(agent)

    taken = client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": "5511955554444", "body": "Oi"}
    )
    blocked = client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": "5511955553333"}
    )

    ticket = Ticket.objects.get()
    assert taken.context["form"].non_field_errors() == [f"bia already has ticket #{ticket.pk} with Ana."]
    # Rui has no ticket the agent may see: not even his name is told
    assert blocked.context["form"].non_field_errors() == ["This number is blocked; ask a supervisor."]
    assert (Ticket.objects.count(), Message.objects.count(), ticket.assignee.username) == (1, 0, "bia")


HIDDEN = "This number already has a conversation you cannot see; ask a supervisor."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "under_way",
    [
        {"status": Ticket.Status.PENDING},
        {"status": Ticket.Status.OPEN, "assignee": lambda: UserFactory(username="bia")},
        {"status": Ticket.Status.CLOSED, "closed_at": timezone.now},  # the reopening window gives it back
    ],
    ids=["waiting", "a-colleagues", "just-closed"],
)
def test_a_conversation_of_another_queue_is_refused_saying_nothing_of_it(agent, agent_client, under_way):
    """The agent of Sales types the number of Ana, whose conversation is in Support: the refusal names
    neither Ana, the ticket nor the colleague, WhatsApp is not asked (no session runs here: asking
    would answer "does not answer"), and the ticket stays as it was."""
    sales, support = QueueFactory(name="Sales"), QueueFactory(name="Support")
    sales.members.add(agent)
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    values = {key: value() if callable(value) else value for key, value in under_way.items()}
    theirs = TicketFactory(
        connection=connection,
        queue=support,
        contact=ContactFactory(name="Ana", phone="5511955554444"),
        **values,
    )

    response = agent_client.post(
        reverse("conversation-new"), {"connection": connection.pk, "phone": "+55 11 95555-4444", "body": "Oi"}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [HIDDEN]
    page = response.content.decode()
    assert "Ana" not in page and "Support" not in page and f"#{theirs.pk}" not in page
    theirs.refresh_from_db()
    assert (theirs.status, theirs.assignee, Ticket.objects.count()) == (
        values["status"],
        values.get("assignee"),
        1,
    )
    assert not Message.objects.exists()
