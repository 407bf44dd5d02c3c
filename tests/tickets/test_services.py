import pytest
from django.core.exceptions import ValidationError

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tickets.models import Message, Ticket
from tickets.services import ActionRefused, ticket_close, ticket_reopen, ticket_reply


@pytest.mark.django_db
def test_closing_records_who_when_and_why(agent):
    ticket = TicketFactory(status=Ticket.Status.OPEN, unread_count=3)

    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_by == agent
    assert ticket.close_reason == "agent"
    assert ticket.closed_at is not None
    assert ticket.unread_count == 0


@pytest.mark.django_db
def test_reopening_assigns_the_ticket_to_whoever_reopens_it(agent):
    ticket = TicketFactory(status=Ticket.Status.OPEN)
    ticket_close(ticket=ticket, by=None, reason=Ticket.CloseReason.AUDIT)

    ticket_reopen(ticket=ticket, by=agent)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.closed_at, ticket.close_reason) == (
        "open",
        agent,
        None,
        "",
    )


@pytest.mark.django_db
def test_reopening_is_refused_while_the_contact_has_another_open_ticket(agent):
    old = TicketFactory(status=Ticket.Status.CLOSED)
    TicketFactory(contact=old.contact, connection=old.connection, status=Ticket.Status.PENDING)

    with pytest.raises(ValidationError, match="already has a ticket"):
        ticket_reopen(ticket=old, by=agent)

    old.refresh_from_db()
    assert old.status == Ticket.Status.CLOSED


def farewells(ticket: Ticket) -> list[str]:
    return list(ticket.messages.filter(kind=Message.Kind.TEXT).values_list("body", flat=True))


@pytest.mark.django_db
def test_two_agents_closing_at_once_say_goodbye_once(agent):
    ticket = TicketFactory(status=Ticket.Status.OPEN, connection=ConnectionFactory(farewell="Tchau!"))
    first, second = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)  # each agent's page

    ticket_close(ticket=first, by=agent, reason=Ticket.CloseReason.AGENT)
    ticket_close(ticket=second, by=None, reason=Ticket.CloseReason.AUDIT)

    assert farewells(ticket) == ["Tchau!"]
    assert ticket.messages.filter(kind=Message.Kind.SYSTEM).count() == 1
    assert (second.status, second.close_reason) == (Ticket.Status.CLOSED, Ticket.CloseReason.AGENT)


@pytest.mark.django_db
def test_a_close_that_fails_queues_no_farewell(agent, monkeypatch):
    ticket = TicketFactory(status=Ticket.Status.OPEN, connection=ConnectionFactory(farewell="Tchau!"))

    def webhook_down(**_kwargs) -> None:
        raise ConnectionError("the webhook queue is away")

    monkeypatch.setattr("tickets.services.webhook_emit", webhook_down)  # the close's last step fails
    with pytest.raises(ConnectionError):
        ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)

    assert farewells(ticket) == []
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN


def test_a_reply_goes_only_into_a_ticket_its_author_may_see(agent):
    """The composer's service asks the one door too: a ticket of another queue is refused, saying
    nothing of it, whoever calls (the page and the API find the ticket through the same rule first)."""
    theirs = TicketFactory(queue=QueueFactory(), status=Ticket.Status.OPEN)

    with pytest.raises(ActionRefused) as refused:
        ticket_reply(ticket=theirs, by=agent, body="Oi")

    assert refused.value.code == "CONVERSATION_NOT_VISIBLE"
    assert not theirs.messages.exists()
