"""A ticket's figures, written when they happen by the service that makes them happen (design,
section 9): the reports, the SLA watch and the API read these columns and ``Milestone`` rows, never
the messages.

- The customer's first message (``first_inbound_at``) starts the clock; the SLA's due times follow
  from it and the ticket's queue (its business hours and promises), and move when the queue changes
  before they are met.
- The first message an agent writes after it is the first response (``first_response_at``, by whom,
  the wait in wall-clock and business seconds). What the helpdesk says by itself (greeting, menu,
  out-of-hours message, satisfaction question: no author) and notes do not count; a reply scheduled
  for later counts when its time comes.
- Each reopening counts, and gives the resolution a new due time from then.
- The close records the resolution time since the customer's first message, and who closed (or, for
  the audit, whose ticket it was).
- Entering a queue and being assigned are milestones too, so the time between two queues is split.

Each function is called inside its caller's transaction and costs at most one INSERT and one UPDATE;
the ingest's hot path (a message to a ticket already counting) costs nothing more.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from tickets.business_time import business_deadline, business_seconds
from tickets.hours import queue_hours
from tickets.models import Message, Milestone, Queue, Ticket


def milestone_add(
    *,
    ticket: Ticket,
    kind: Milestone.Kind,
    at: datetime | None = None,
    agent: User | None = None,
    seconds: float | None = None,
    business: float | None = None,
    rating: int | None = None,
) -> Milestone:
    """One row of what happened, with the ticket's connection and queue of this moment."""
    return Milestone.objects.create(
        ticket=ticket,
        kind=kind,
        at=at or timezone.now(),
        connection_id=ticket.connection_id,
        queue_id=ticket.queue_id,
        agent=agent,
        seconds=seconds,
        business_seconds=business,
        rating=rating,
    )


def due_times(*, ticket: Ticket, queue: Queue | None, since: datetime | None = None) -> None:
    """Set (unsaved) the ticket's SLA due times from ``queue``'s promises, counted from the customer's
    first message, or from ``since`` (the last reopening): the first response's unless already met,
    and the resolution's. No promise, or no first message yet: no due time."""
    start = since or ticket.first_inbound_at
    hours = queue_hours(queue) if queue is not None else None
    if ticket.first_response_at is None:
        minutes = queue and queue.sla_first_response_minutes
        ticket.first_response_due = (
            business_deadline(hours, start, minutes) if hours and start and minutes else None
        )
    minutes = queue and queue.sla_resolution_minutes
    ticket.resolution_due = business_deadline(hours, start, minutes) if hours and start and minutes else None


def ticket_opened(*, ticket: Ticket, at: datetime) -> None:
    """A new ticket was saved: OPENED (and QUEUED when it starts in a queue). ``at``: when the
    conversation began (its first message's time)."""
    milestone_add(ticket=ticket, kind=Milestone.Kind.OPENED, at=at)
    if ticket.queue_id is not None:
        milestone_add(ticket=ticket, kind=Milestone.Kind.QUEUED, at=at)


def first_inbound_set(*, ticket: Ticket, at: datetime, queue: Queue | None) -> list[str]:
    """The customer wrote for the first time in this ticket (unsaved): the clock starts and the due
    times follow. Returns the fields to save (none when it had already started)."""
    if ticket.first_inbound_at is not None:
        return []
    ticket.first_inbound_at = at
    due_times(ticket=ticket, queue=queue)
    return ["first_inbound_at", "first_response_due", "resolution_due"]


def ticket_reopened(*, ticket: Ticket, by: User | None = None) -> None:
    """The ticket was reopened (saved by the caller, its ``reopen_count`` counted in the same UPDATE
    where it can be): REOPENED, and new due times from now: the resolution's, and the first
    response's when nobody had answered yet."""
    now = timezone.now()
    milestone_add(ticket=ticket, kind=Milestone.Kind.REOPENED, at=now, agent=by)
    previous = (ticket.first_response_due, ticket.resolution_due)
    due_times(ticket=ticket, queue=ticket.queue, since=now)
    if (ticket.first_response_due, ticket.resolution_due) != previous:
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_due=ticket.first_response_due, resolution_due=ticket.resolution_due
        )


def response_recorded(*, ticket: Ticket, message: Message) -> None:
    """An agent's message to the customer was written (or, scheduled, its time came): the first one
    after the customer's first message is the first response."""
    if message.author_id is None or ticket.first_inbound_at is None or ticket.first_response_at is not None:
        return
    at = message.created_at or timezone.now()
    wait = max(0.0, (at - ticket.first_inbound_at).total_seconds())
    business = _business(ticket, ticket.first_inbound_at, at)
    claimed = Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(
        first_response_at=at, first_response_by=message.author_id
    )
    if not claimed:  # a colleague's answer counted first
        return
    ticket.first_response_at, ticket.first_response_by_id = at, message.author_id
    milestone_add(
        ticket=ticket,
        kind=Milestone.Kind.FIRST_RESPONSE,
        at=at,
        agent=message.author,
        seconds=wait,
        business=business,
    )
    _late_check(ticket, at)


def ticket_closed(*, ticket: Ticket, by: User | None, at: datetime) -> None:
    """The ticket was closed: CLOSED with the resolution time since the customer's first message,
    credited to who closed it (or, closed by the audit or a program, to whose it was)."""
    start = ticket.first_inbound_at
    milestone_add(
        ticket=ticket,
        kind=Milestone.Kind.CLOSED,
        at=at,
        agent=by or ticket.assignee,
        seconds=max(0.0, (at - start).total_seconds()) if start else None,
        business=_business(ticket, start, at) if start else None,
    )
    _late_check(ticket, at)


def queue_entered(*, ticket: Ticket) -> None:
    """The ticket moved to ``ticket.queue`` (saved by the caller): QUEUED, and its due times follow
    the new queue's promises (the ones already met stay met)."""
    milestone_add(ticket=ticket, kind=Milestone.Kind.QUEUED)
    first, resolution = ticket.first_response_due, ticket.resolution_due
    due_times(ticket=ticket, queue=ticket.queue, since=_reopened_at(ticket))
    if (first, resolution) != (ticket.first_response_due, ticket.resolution_due):
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_due=ticket.first_response_due, resolution_due=ticket.resolution_due
        )


def ticket_assigned(*, ticket: Ticket, agent: User) -> None:
    """The ticket became ``agent``'s."""
    milestone_add(ticket=ticket, kind=Milestone.Kind.ASSIGNED, agent=agent)


def _reopened_at(ticket: Ticket) -> datetime | None:
    """When the ticket was last reopened (None: never), its windows' start: a reopened ticket moved
    to another queue is not late by the time it spent closed."""
    if not ticket.reopen_count:
        return None
    reopenings = Milestone.objects.filter(ticket=ticket, kind=Milestone.Kind.REOPENED)
    return reopenings.order_by("-at").values_list("at", flat=True).first()


def _late_check(ticket: Ticket, at: datetime) -> None:
    """An answer or a close after its due time is the breach, marked now (not at the watch's next run)."""
    from tickets.sla import sla_breach_check  # tickets.sla writes its milestone through this module

    sla_breach_check(ticket=ticket, at=at)


def _business(ticket: Ticket, start: datetime, end: datetime) -> float:
    """Business seconds of [start, end) in the ticket's queue's hours (no queue: always open)."""
    queue = ticket.queue if ticket.queue_id is not None else None
    if queue is None:
        return max(0.0, (end - start).total_seconds())
    return business_seconds(queue_hours(queue), start, end)
