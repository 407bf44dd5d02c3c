"""A contact's page: details, edit, block and unblock."""

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(agent):
    """A contact of a ticket in the agent's queue."""
    queue = QueueFactory(name="Vendas")
    queue.members.add(agent)
    maria = ContactFactory(name="Maria", push_name="Mari", phone="5511988887777")
    return TicketFactory(queue=queue, connection=ConnectionFactory(name="Loja"), contact=maria).contact


def test_the_page_shows_the_details_and_the_tickets(agent_client, contact):
    page = agent_client.get(reverse("contact", args=[contact.pk])).content.decode()

    for shown in ["Maria", "Mari", "+55 11 98888-7777", "Loja", "Vendas", "Pending"]:
        assert shown in page


def test_the_name_and_email_are_changed(agent_client, contact):
    response = agent_client.post(
        reverse("contact-edit", args=[contact.pk]), {"name": "Maria Souza", "email": "maria@example.com"}
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.push_name) == ("Maria Souza", "maria@example.com", "Mari")


def test_a_bad_email_is_a_form_error_that_keeps_what_was_typed(agent_client, contact):
    response = agent_client.post(
        reverse("contact-edit", args=[contact.pk]), {"name": "Maria Souza", "email": "maria-at-example"}
    )

    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    page = response.content.decode()
    assert 'value="Maria Souza"' in page and 'value="maria-at-example"' in page
    contact.refresh_from_db()
    assert (contact.name, contact.email) == ("Maria", "")


def test_block_and_unblock(agent_client, contact):
    agent_client.post(reverse("contact-block", args=[contact.pk]), {"blocked": "1"})
    contact.refresh_from_db()
    assert contact.blocked
    assert "Unblock" in agent_client.get(reverse("contact", args=[contact.pk])).content.decode()

    agent_client.post(reverse("contact-block", args=[contact.pk]), {"blocked": "0"})
    contact.refresh_from_db()
    assert not contact.blocked


def test_blocking_is_a_post(agent_client, contact):
    assert agent_client.get(reverse("contact-block", args=[contact.pk])).status_code == 405
    assert agent_client.get(reverse("contact-edit", args=[contact.pk])).status_code == 405


def test_a_phone_whatsapp_hides_is_said_hidden_never_shown_as_the_lids_digits(staff_client):
    hidden = ContactFactory(name="Ana", phone="", wa_id="987654321098765@lid")
    ticket = TicketFactory(contact=hidden)

    for url in [reverse("contact", args=[hidden.pk]), reverse("ticket", args=[ticket.pk])]:
        page = staff_client.get(url).content.decode()
        assert "hidden by WhatsApp" in page
        assert "987654321098765" not in page
