"""Each change of a ticket reaches the inbox, however alike two changes look (events carry ids only)."""

import pytest

from tests.factories import QueueFactory, TicketFactory
from tests.tickets.test_inbox_live import conversation
from tickets.models import Ticket
from tickets.services import ticket_accept, ticket_close, ticket_read

pytestmark = [pytest.mark.usefixtures("channel_layer"), pytest.mark.django_db(transaction=True)]


def test_two_changes_of_one_ticket_are_two_events_each_heard_once(agent_client, agent):
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue, assignee=agent, status=Ticket.Status.OPEN, unread_count=1)

    def read_then_close() -> None:  # two "ticket.changed" of the same ticket: a page needs both
        ticket_read(ticket=ticket, by=agent)
        ticket_accept(ticket=ticket, by=agent)
        ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)

    received = conversation(agent_client, read_then_close)

    # Heard through the queue's group and the agent's own, yet once each (the system lines aside).
    changes = [event["ticket"] for event in received if event["type"] == "ticket.changed"]
    assert changes == [ticket.pk] * 3
