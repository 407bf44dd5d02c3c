"""The transfer form offers the chosen queue's agents by name, and takes no one else."""

import pytest
from django.urls import reverse

from tests.factories import QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_form_lists_the_chosen_queues_agents_and_refuses_anyone_else(agent_client, agent):
    support, sales = QueueFactory(name="Suporte"), QueueFactory(name="Vendas")
    agent.first_name, agent.last_name = "Ana", "Lima"
    agent.save()
    bruno = UserFactory(first_name="Bruno", last_name="Reis")
    support.members.add(agent)
    sales.members.add(bruno)
    UserFactory(first_name="Inativo", is_active=False).queues.add(sales)
    ticket = TicketFactory(queue=support)
    url = reverse("ticket-transfer", args=[ticket.pk])

    assert ">Ana Lima</option>" in agent_client.get(url).content.decode()
    sales_form = agent_client.get(url, {"queue": sales.pk}).content.decode()
    assert ">Bruno Reis</option>" in sales_form
    assert "Ana Lima" not in sales_form and "Inativo" not in sales_form
    assert agent.username not in sales_form

    refused = agent_client.post(url, {"queue": sales.pk, "assignee": agent.pk}, HTTP_HX_REQUEST="true")

    assert "Select a valid choice" in refused.content.decode()
    ticket.refresh_from_db()
    assert (ticket.queue, ticket.assignee) == (support, None)
