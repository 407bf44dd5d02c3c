"""Finding a ticket: by name, by number, by a word of the conversation (accents ignored on PostgreSQL)."""

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def found(client, **params) -> list[int]:
    return [ticket.pk for ticket in client.get(reverse("inbox"), params).context["page"].items]


def test_staff_find_tickets_by_name_number_and_message_text(staff_client):
    maria = TicketFactory(contact=ContactFactory(push_name="Maria Souza", phone="5511988887777"))
    joao = TicketFactory(contact=ContactFactory(push_name="João Lima", phone="5521977776666"))
    MessageFactory(ticket=joao, body="Quero um orçamento para sexta")

    assert found(staff_client, tab="all", q="souza") == [maria.pk]
    assert found(staff_client, tab="all", q="+55 21 97777") == [joao.pk]
    assert found(staff_client, tab="all", q="orçamento") == [joao.pk]
    if connection.vendor == "postgresql":  # full-text search with unaccent; SQLite matches the text as typed
        assert found(staff_client, tab="all", q="orcamento") == [joao.pk]
        assert found(staff_client, tab="all", q="ORCAMENTO sexta") == [joao.pk]


def test_the_waiting_tab_shows_the_longest_wait_first_and_pages_with_a_cursor(staff_client):
    tickets = TicketFactory.create_batch(55)  # made one after another: each waits less than the one before
    first = staff_client.get(reverse("inbox"), {"tab": "waiting"}).context["page"]
    rest = staff_client.get(reverse("inbox-more"), {"tab": "waiting", "cursor": first.next_cursor}).context[
        "page"
    ]

    assert [t.pk for t in first.items + rest.items] == [t.pk for t in tickets]
    assert rest.next_cursor is None


def test_a_bad_cursor_shows_the_first_page(staff_client):
    TicketFactory()

    assert len(found(staff_client, tab="waiting", cursor="²²")) == 1
    assert staff_client.get(reverse("inbox-more"), {"cursor": "not-a-cursor"}).status_code == 400


def test_tabs_count_mine_waiting_and_all(staff_client, staff):
    TicketFactory.create_batch(2)
    TicketFactory(status=Ticket.Status.OPEN, assignee=staff)
    TicketFactory(status=Ticket.Status.CLOSED)

    counts = staff_client.get(reverse("inbox")).context["counts"]

    assert counts == {"mine": 1, "waiting": 2, "all": 3}


def test_agents_have_no_all_tab_and_filters_they_cannot_use_are_ignored(agent_client):
    response = agent_client.get(reverse("inbox"), {"tab": "all", "queue": "²", "assignee": str(2**70)})

    assert response.status_code == 200
    assert response.context["filters"].tab == "waiting"
    assert "all" not in response.context["tabs"]
