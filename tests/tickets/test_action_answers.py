"""An action's answer tells the acting page what changed (``ticket-acted``), without waiting for the bus."""

import json

import pytest
from django.urls import reverse

from tests.factories import QueueFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(agent):
    queue = QueueFactory()
    queue.members.add(agent)
    return TicketFactory(queue=queue)


def acted(response) -> dict:
    return json.loads(response["HX-Trigger"])["ticket-acted"]


def test_accepting_or_answering_a_waiting_ticket_takes_the_list_to_mine(agent_client, waiting):
    answered = TicketFactory(queue=waiting.queue)

    accept = agent_client.post(reverse("ticket-action", args=[waiting.pk, "accept"]), HTTP_HX_REQUEST="true")
    answer = agent_client.post(
        reverse("ticket-reply", args=[answered.pk]), {"body": "Oi"}, HTTP_HX_REQUEST="true"
    )

    assert acted(accept) == {"ticket": waiting.pk, "tab": "mine"}
    assert acted(answer) == {"ticket": answered.pk, "tab": "mine"}
    assert json.loads(answer["HX-Trigger"])["composer-sent"] is True


def test_other_actions_name_the_ticket_to_read_again(agent_client, waiting):
    for action in ("accept", "return", "close", "reopen"):
        response = agent_client.post(
            reverse("ticket-action", args=[waiting.pk, action]), HTTP_HX_REQUEST="true"
        )
        assert acted(response)["ticket"] == waiting.pk
        assert acted(response)["tab"] == ("mine" if action == "accept" else None)
    answer_again = agent_client.post(
        reverse("ticket-reply", args=[waiting.pk]), {"body": "Oi"}, HTTP_HX_REQUEST="true"
    )
    assert answer_again["HX-Trigger"] == "composer-sent"  # an open ticket's answer moves no list
