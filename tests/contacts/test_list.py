"""The Contacts list: search by name or number, newest first, "load more"."""

import pytest
from django.urls import reverse

from contacts import views
from tests.factories import ContactFactory, QueueFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_contacts_are_searched_by_name_whatsapp_name_or_number(staff_client):
    ContactFactory(name="Maria Souza", push_name="", phone="5511988887777")
    ContactFactory(name="", push_name="João Lima", phone="5521977776666")

    def found(query: str) -> list[str]:
        return [
            c.display_name
            for c in staff_client.get(reverse("contact-list"), {"q": query}).context["page"].items
        ]

    assert found("souza") == ["Maria Souza"]
    assert found("LIMA") == ["João Lima"]
    assert found("2197777") == ["João Lima"]
    assert found("+55 21 97777-6666") == ["João Lima"]
    assert found("Souza 55") == []  # a name with digits is not a number
    assert sorted(found("")) == ["João Lima", "Maria Souza"]


def test_each_row_links_to_the_contacts_page(staff_client):
    contact = ContactFactory()

    assert reverse("contact", args=[contact.pk]) in staff_client.get(reverse("contact-list")).content.decode()


def test_load_more_pages_newest_first_without_repeats(staff_client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    contacts = ContactFactory.create_batch(7)

    seen, cursor, pages = [], None, 0
    while True:
        response = staff_client.get(
            reverse("contact-list"),
            {"cursor": cursor} if cursor else {},
            **({"HTTP_HX_REQUEST": "true"} if cursor else {}),
        )
        page = response.context["page"]
        seen += page.items
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
        assert f"cursor={cursor}" in response.content.decode()

    assert pages == 3
    assert seen == sorted(contacts, key=lambda c: (c.created_at, c.pk), reverse=True)
    assert "<html" not in response.content.decode().lower()  # htmx gets the rows alone


def test_a_search_keeps_its_query_in_load_more(staff_client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    ContactFactory.create_batch(2, name="Souza")

    assert "q=Souza&amp;cursor=" in staff_client.get(reverse("contact-list"), {"q": "Souza"}).content.decode()


@pytest.mark.parametrize("cursor", ["nonsense", "WzEsMl0", "W251bGwsIDFd", "%%%"])
def test_a_bad_cursor_shows_the_first_page(staff_client, monkeypatch, cursor):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    ContactFactory.create_batch(3)
    first = staff_client.get(reverse("contact-list")).context["page"]

    response = staff_client.get(reverse("contact-list"), {"cursor": cursor})

    assert response.status_code == 200
    assert response.context["page"].items == first.items


def test_the_list_runs_a_fixed_number_of_queries_for_an_agent(agent_client, agent, django_assert_num_queries):
    queue = QueueFactory()
    queue.members.add(agent)
    TicketFactory.create_batch(20, queue=queue)
    TicketFactory.create_batch(
        5, queue=QueueFactory()
    )  # another queue's contacts, filtered in the same query

    # session, user, whether they see every ticket, the page of contacts
    with django_assert_num_queries(4):
        agent_client.get(reverse("contact-list"))
