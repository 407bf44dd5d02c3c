"""Conversations for the reports' tests, made by the real services at chosen times: the customer
writes (the ingest), an agent answers (``ticket_reply``) and closes (``ticket_close``)."""

from datetime import datetime, timedelta

from django.utils import timezone

from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from tickets.models import Ticket
from tickets.services import ticket_close, ticket_reply

numbers = iter(range(1, 1_000_000))


class Clock:
    """``timezone.now`` held at a chosen moment."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch

    def set(self, moment: datetime) -> None:
        self.monkeypatch.setattr(timezone, "now", lambda: moment)


def conversation(
    *,
    clock: Clock,
    connection,
    agent,
    start: datetime,
    answer_after: float | None = None,
    close_after: float | None = None,
    chat: str | None = None,
) -> Ticket:
    """A customer writes at ``start``; ``agent`` answers ``answer_after`` seconds later and closes
    ``close_after`` seconds after ``start``."""
    number = next(numbers)
    chat = chat or f"55119{number:08d}@c.us"
    clock.set(start)
    ticket = message_ingest(
        connection=connection, message=inbound(number, chat=chat, t=int(start.timestamp()))
    ).ticket
    if answer_after is not None:
        clock.set(start + timedelta(seconds=answer_after))
        ticket_reply(ticket=Ticket.objects.get(pk=ticket.pk), by=agent, body="Olá, como posso ajudar?")
    if close_after is not None:
        clock.set(start + timedelta(seconds=close_after))
        ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=agent, reason=Ticket.CloseReason.AGENT)
    return Ticket.objects.get(pk=ticket.pk)
