"""A phone number reads the same everywhere a person sees it: "+55 11 98888-7777"; the API keeps digits."""

import pytest
from django.urls import reverse

from helpdesk.phones import phone_display
from tests.factories import ConnectionFactory, ContactFactory, TicketFactory

pytestmark = pytest.mark.django_db

SHOWN = "+55 11 98888-7777"


@pytest.mark.parametrize(
    ("digits", "shown"),
    [
        ("5511988887777", "+55 11 98888-7777"),
        ("14155550123", "+1 415-555-0123"),
        ("123456", "+123456"),  # no country's plan: the digits, not split where no plan does
        ("999999999999999", "+999999999999999"),
        ("", ""),
    ],
)
def test_a_number_is_written_in_the_international_format(digits, shown):
    assert phone_display(digits) == shown


def test_every_page_and_the_admin_show_the_same_international_number(staff_client):
    contact = ContactFactory(name="", push_name="", phone="5511988887777", wa_id="5511988887777@c.us")
    ticket = TicketFactory(contact=contact, status="pending")
    connection = ConnectionFactory(phone="5511988887777")
    pages = {
        "inbox": reverse("inbox") + "?tab=all",
        "ticket": reverse("ticket", args=[ticket.pk]),
        "contacts": reverse("contact-list"),
        "contact": reverse("contact", args=[contact.pk]),
        "connections": reverse("connection-list"),
        "connection": reverse("connection-detail", args=[connection.pk]),
        "contacts admin": reverse("admin:contacts_contact_changelist"),
        "connections admin": reverse("admin:whatsapp_connection_changelist"),
    }

    without = [name for name, url in pages.items() if SHOWN not in staff_client.get(url).content.decode()]

    assert without == []
    assert ticket.contact.display_name == SHOWN  # a contact with no name is called by its number


def test_the_api_keeps_the_stored_digits(api):
    contact = ContactFactory(phone="5511988887777")

    assert api("GET", f"contacts/{contact.pk}").json()["phone"] == "5511988887777"
