"""Customer satisfaction: the question after an agent's close, and the customer's 1-to-5 answer.

A connection with ``csat_enabled`` asks the customer to rate the service when an agent closes
their ticket (the page or the API; not the audit, not the admin): its ``csat_question``, or the
helpdesk's own in the helpdesk's language, after the farewell. What the helpdesk says by itself
has no author, so the question never counts as a first response.

The customer's answer arrives through the ingest (tickets/inbound.py) as a message to the closed
ticket. ``csat_replies`` says which of a batch's first messages answer the question; the ingest
stores those in the closed ticket without reopening it or counting them unread, and
``csat_record`` keeps the rating, thanks the customer once and writes the RATED milestone the
reports read. The first message that is not an answer, and every one after it, reopens the
ticket as any message does (docs/csat.md):

- A rating is a text that is just "1" to "5" (ASCII digits), a keycap emoji (1️⃣ to 5️⃣), one to
  five stars (⭐), or the number as a word in English or Portuguese ("one", "cinco", "três" or
  "tres", "uma", "duas"); case, spaces and punctuation around it are ignored ("5.", " Cinco! ").
  "10", "5 stars!!!", "great", a sticker are ordinary messages.
- It counts while the ticket is closed since the question, within TICKET_REOPEN_WINDOW of it,
  and not rated yet: the first rating wins. A rating sent again within CSAT_COMMENT_MINUTES of
  it (a double tap) is kept in the ticket and changes nothing.
- One text that follows the rating within CSAT_COMMENT_MINUTES is its comment.

Other systems hear of it as Chatwoot tells of its survey's answer (the survey message updated, each
time the customer adds to it): the webhook ``ticket.rated`` with the ticket's JSON when the rating is
kept, and once more, with the comment, when the comment comes later (docs/csat.md).
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import dashboard_changed
from tickets.conversation_flow import render
from tickets.milestone_rows import milestone_add
from tickets.models import Message, Milestone, Ticket
from tickets.outbound import message_send
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event
from tickets.writing import contact_receives
from whatsapp.webhooks import webhook_emit

CSAT_COMMENT_MINUTES = 10
# A message written before the question is not its answer; the phone's clock may be a little behind ours.
CLOCK_SLACK = timedelta(minutes=1)
QUESTION = gettext_noop(
    "How would you rate our service? Please answer with a number from 1 (very bad) to 5 (excellent)."
)
THANKS = gettext_noop("Thank you for your rating!")
WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "três": 3,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
}
KEYCAP = "\u20e3"  # the enclosing keycap after a digit: "5️⃣" is "5", VARIATION SELECTOR-16, KEYCAP
STAR = "⭐"


@dataclass(frozen=True)
class Answer:
    """A customer's message that answers the question: its ``rating`` (the first one), its
    ``comment``, or neither (a rating sent again, kept in the ticket, changing nothing)."""

    message: Message
    rating: int | None = None
    comment: str = ""


def csat_ask(*, ticket: Ticket) -> None:
    """An agent closed ``ticket`` (saved as closed, in the caller's transaction): ask the customer to
    rate the service, when its connection asks and the customer receives messages. A ticket already
    rated (reopened and closed again) is not asked again: one rating per ticket."""
    connection = ticket.connection
    if not connection.csat_enabled or ticket.csat_rating is not None:
        return
    if not contact_receives(contact=ticket.contact):
        return
    own = connection.csat_question.strip()
    question = render(own, ticket=ticket) if own else in_helpdesk_language(QUESTION)
    message_send(ticket=ticket, author=None, body=question)
    ticket.csat_asked_at = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(csat_asked_at=ticket.csat_asked_at)


def rating_of(text: str) -> int | None:
    """The rating ``text`` is when it is nothing else (see the module's docstring), else None."""
    core = _trimmed(text).casefold().replace("\ufe0f", "")
    keycap = core.endswith(KEYCAP)
    core = core.removesuffix(KEYCAP)
    if len(core) == 1 and core in "12345":
        return int(core)
    if keycap:
        return None
    if core and len(core) <= 5 and set(core) == {STAR}:
        return len(core)
    return WORDS.get(core)


def csat_replies(*, ticket: Ticket, messages: Sequence[Message], now: datetime | None = None) -> list[Answer]:
    """The answers among the first of ``messages`` (a batch of one chat, in order, not saved yet) to
    the question ``ticket`` asked, up to the first message that is not one. No query: read from the
    ticket and the messages, so the ingest may ask on every message to a closed ticket."""
    now = now or timezone.now()
    asked = ticket.csat_asked_at
    if (
        asked is None
        or ticket.status != Ticket.Status.CLOSED
        or ticket.closed_at is None
        or ticket.closed_at > asked  # closed again since (by the audit, say) without asking
        or now - asked > timedelta(seconds=settings.TICKET_REOPEN_WINDOW)
    ):
        return []
    rated_at = ticket.csat_rated_at if ticket.csat_rating is not None else None
    commented = bool(ticket.csat_comment)
    answers: list[Answer] = []
    for message in messages:
        answer = _answer(message, asked=asked, rated_at=rated_at, commented=commented, now=now)
        if answer is None:
            break
        answers.append(answer)
        rated_at = rated_at or now
        commented = commented or bool(answer.comment)
    return answers


def csat_record(*, ticket: Ticket, answers: Sequence[Answer]) -> None:
    """Keep what ``answers`` (from ``csat_replies``, their messages stored in ``ticket`` by now) say:
    the rating with its RATED milestone (credited to who closed the ticket, or whose it was) and
    one thank-you, the comment. In the caller's transaction (the ingest's). The ticket stays closed;
    its page shows the rating live. ``ticket.rated`` tells the webhook what was kept: once for a
    batch, none for a rating sent again (it changes nothing)."""
    now = timezone.now()
    kept = False
    for answer in answers:
        if answer.rating is not None:
            kept = _rated(ticket, answer.rating, now) or kept
        elif answer.comment:
            ticket.csat_comment = answer.comment
            Ticket.objects.filter(pk=ticket.pk).update(csat_comment=answer.comment)
            kept = True
    ticket_event(ticket=ticket, event_type="ticket.changed")
    dashboard_changed()
    if kept:
        webhook_emit(connection=ticket.connection, event="ticket.rated", payload=ticket_payload(ticket))


def _answer(
    message: Message, *, asked: datetime, rated_at: datetime | None, commented: bool, now: datetime
) -> Answer | None:
    if message.from_me or message.kind != Message.Kind.TEXT:
        return None
    if message.wa_timestamp is not None and message.wa_timestamp < asked - CLOCK_SLACK:
        return None
    rating = rating_of(message.body)
    if rated_at is None:
        return Answer(message, rating=rating) if rating is not None else None
    if now - rated_at > timedelta(minutes=CSAT_COMMENT_MINUTES):
        return None
    if rating is not None:
        return Answer(message)  # the first rating wins
    comment = message.body.strip()
    return Answer(message, comment=comment) if comment and not commented else None


def _rated(ticket: Ticket, rating: int, at: datetime) -> bool:
    """The first rating: kept (a concurrent one that came first wins: False), thanked once."""
    if not Ticket.objects.filter(pk=ticket.pk, csat_rating=None).update(csat_rating=rating, csat_rated_at=at):
        return False
    ticket.csat_rating, ticket.csat_rated_at = rating, at
    agent = ticket.closed_by or ticket.assignee
    milestone_add(ticket=ticket, kind=Milestone.Kind.RATED, at=at, agent=agent, rating=rating)
    if contact_receives(contact=ticket.contact):
        message_send(ticket=ticket, author=None, body=in_helpdesk_language(THANKS))
    return True


def _trimmed(text: str) -> str:
    """``text`` without the spaces and punctuation around it."""
    start, end = 0, len(text)
    while start < end and _loose(text[start]):
        start += 1
    while end > start and _loose(text[end - 1]):
        end -= 1
    return text[start:end]


def _loose(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")
