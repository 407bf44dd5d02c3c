import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ConnectionEventFactory, MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Message, Ticket

MODELS = [model._meta for model in admin.site._registry]
ADMIN_PAGES = [
    (f"admin:{meta.app_label}_{meta.model_name}_{page}", meta.label)
    for meta in MODELS
    for page in ("changelist", "add")
]


# What only the system writes: its admin lists and shows it, and has no "add" page.
WRITTEN_BY_THE_SYSTEM = {
    "django_q.success",
    "django_q.failure",
    "django_q.ormq",
    "contacts.contactmerge",  # the audit line of a merge (tickets/merging.py)
    "helpdesk.apitoken",  # made with manage.py create_api_token
    "tickets.message",
    "tickets.auditreport",
    "whatsapp.connectionevent",
    "whatsapp.webhookdelivery",
    "whatsapp.deadletter",
    "whatsapp.savedlogin",  # saved by the sessions (whatsapp/saved_logins.py)
}


@pytest.mark.parametrize(("url_name", "label"), ADMIN_PAGES)
def test_every_admin_page_renders_for_a_superuser(staff_client, url_name, label):
    TicketFactory()  # something to list
    response = staff_client.get(reverse(url_name))

    refused = url_name.endswith("_add") and label.lower() in WRITTEN_BY_THE_SYSTEM
    assert response.status_code == (403 if refused else 200)


@pytest.mark.parametrize("url_name", [name for name, _ in ADMIN_PAGES])
def test_every_admin_page_sends_an_anonymous_user_to_the_login(client, db, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(url_name)}"


def test_adding_a_second_open_ticket_shows_a_form_error(staff_client):
    existing = TicketFactory(status=Ticket.Status.OPEN)
    form = {
        "contact": existing.contact.pk,
        "connection": existing.connection.pk,
        "status": "pending",
        "messages-TOTAL_FORMS": 0,
        "messages-INITIAL_FORMS": 0,
    }

    response = staff_client.post(reverse("admin:tickets_ticket_add"), form)

    assert response.status_code == 200
    assert "already has a ticket that is not closed" in response.content.decode()
    assert Ticket.objects.count() == 1


def test_bulk_close_then_reopen(staff_client, staff):
    tickets = TicketFactory.create_batch(2, status=Ticket.Status.OPEN)
    changelist = reverse("admin:tickets_ticket_changelist")
    selected = [ticket.pk for ticket in tickets]

    staff_client.post(changelist, {"action": "close_tickets", "_selected_action": selected})
    assert set(Ticket.objects.values_list("status", "closed_by", "close_reason")) == {
        ("closed", staff.pk, "admin")
    }

    staff_client.post(changelist, {"action": "reopen_tickets", "_selected_action": selected})
    assert set(Ticket.objects.values_list("status", flat=True)) == {"open"}


def test_bulk_reopen_reports_a_ticket_it_cannot_reopen(staff_client):
    old = TicketFactory(status=Ticket.Status.CLOSED)
    TicketFactory(contact=old.contact, connection=old.connection, status=Ticket.Status.OPEN)

    response = staff_client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "reopen_tickets", "_selected_action": [old.pk]},
        follow=True,
    )

    assert "already has a ticket that is not closed" in response.content.decode()
    old.refresh_from_db()
    assert old.status == Ticket.Status.CLOSED


def test_ticket_page_shows_its_messages(staff_client):
    message = MessageFactory(body="Olá, preciso de ajuda")

    response = staff_client.get(reverse("admin:tickets_ticket_change", args=[message.ticket.pk]))

    assert "Olá, preciso de ajuda" in response.content.decode()


def test_contact_page_shows_its_tickets(staff_client):
    ticket = TicketFactory(last_message_preview="Quero saber do pedido")

    response = staff_client.get(reverse("admin:contacts_contact_change", args=[ticket.contact.pk]))

    assert "Quero saber do pedido" in response.content.decode()


def test_connection_page_shows_its_status_and_log(staff_client):
    event = ConnectionEventFactory(message="Browser launched")
    ConnectionEventFactory(message="Another connection's event")

    response = staff_client.get(reverse("admin:whatsapp_connection_change", args=[event.connection.pk]))

    page = response.content.decode()
    assert "Browser launched" in page
    assert "Another connection" not in page
    assert "status-stopped" in page


def test_a_tickets_state_and_hands_are_not_form_fields(staff_client):
    """Status, contact, connection, queue and assignee change only through the actions (the services,
    with their system line, event and webhook), the wait's start with the conversation: the change
    form shows them, it does not edit them."""
    ticket = TicketFactory(status=Ticket.Status.OPEN, queue=QueueFactory(), assignee=UserFactory())

    page = staff_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()

    for field in ("status", "contact", "connection", "queue", "assignee", "waiting_since_0"):
        assert f'name="{field}"' not in page
    assert ticket.queue.name in page


def _choose_and_apply(client, action: str, tickets: list[Ticket], choice: dict):
    changelist = reverse("admin:tickets_ticket_changelist")
    selected = {"action": action, "_selected_action": [ticket.pk for ticket in tickets]}
    choosing = client.post(changelist, selected)
    applied = client.post(changelist, {**selected, **choice, "apply": "1"}, follow=True)
    return choosing.content.decode(), applied.content.decode()


def test_transferring_from_the_admin_goes_through_the_service(staff_client, staff):
    tickets = TicketFactory.create_batch(2, status=Ticket.Status.OPEN, assignee=UserFactory())
    support = QueueFactory(name="Support")

    choosing, applied = _choose_and_apply(staff_client, "transfer_tickets", tickets, {"queue": support.pk})

    assert all(str(ticket) in choosing for ticket in tickets) and 'name="queue"' in choosing
    assert "2 tickets changed." in applied
    assert set(Ticket.objects.values_list("queue", "assignee", "status")) == {(support.pk, None, "pending")}
    lines = Message.objects.filter(kind=Message.Kind.SYSTEM).values_list("ticket", "body")
    assert sorted(lines) == sorted((t.pk, f"{staff.username} transferred to Support") for t in tickets)


def test_assigning_from_the_admin_goes_through_the_service(staff_client, staff):
    ticket = TicketFactory(status=Ticket.Status.PENDING)
    bia = UserFactory(username="bia", first_name="Bia")

    choosing, _applied = _choose_and_apply(staff_client, "assign_tickets", [ticket], {})
    _choosing, applied = _choose_and_apply(staff_client, "assign_tickets", [ticket], {"assignee": bia.pk})

    assert 'name="assignee"' in choosing
    assert "1 ticket changed." in applied
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (bia, Ticket.Status.OPEN)
    assert Message.objects.get(kind=Message.Kind.SYSTEM).body == f"{staff.username} gave the ticket to Bia"
