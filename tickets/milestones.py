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
- Each reopening counts, and gives the resolution a new due time from then: ``sla_window_start``
  keeps when the running windows began (the first message, or the last reopening), so the badge's
  amber threshold and a later transfer count from there.
- The close records the resolution time since the customer's first message, and who closed (or, for
  the audit, whose ticket it was).
- Entering a queue and being assigned are milestones too, so the time between two queues is split.

Each function is called inside its caller's transaction and costs at most one INSERT and one UPDATE;
the ingest's hot path (a message to a ticket already counting) costs nothing more.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from tickets.business_time import Hours, business_deadline, business_seconds
from tickets.hours import queue_hours
from tickets.milestone_rows import milestone_add, milestone_row
from tickets.models import Message, Milestone, Queue, Ticket
from tickets.realtime import ticket_event
from tickets.sla import sla_breach_check


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
    kinds = [Milestone.Kind.OPENED] + ([Milestone.Kind.QUEUED] if ticket.queue_id is not None else [])
    Milestone.objects.bulk_create([milestone_row(ticket, kind, at) for kind in kinds])  # one INSERT


def first_inbound_set(*, ticket: Ticket, at: datetime, queue: Queue | None) -> list[str]:
    """The customer wrote for the first time in this ticket (unsaved): the clock starts and the due
    times follow. Returns the fields to save (none when it had already started)."""
    if ticket.first_inbound_at is not None:
        return []
    ticket.first_inbound_at = ticket.sla_window_start = at
    due_times(ticket=ticket, queue=queue)
    return ["first_inbound_at", "sla_window_start", "first_response_due", "resolution_due"]


def ticket_reopened(*, ticket: Ticket, by: User | None = None) -> None:
    """The ticket was reopened (saved by the caller, its ``reopen_count`` counted in the same UPDATE
    where it can be): REOPENED, and new windows from now: the resolution's due time, and the first
    response's when nobody had answered yet."""
    now = timezone.now()
    milestone_add(ticket=ticket, kind=Milestone.Kind.REOPENED, at=now, agent=by)
    ticket.sla_window_start = now
    due_times(ticket=ticket, queue=ticket.queue, since=now)
    Ticket.objects.filter(pk=ticket.pk).update(
        sla_window_start=now,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
    )


def response_recorded(*, ticket: Ticket, message: Message) -> None:
    """An agent's message to the customer was written (or, scheduled, its time came): the first one
    after the customer's first message is the first response. Its ``ticket.changed`` brings the
    open pages the SLA as it is now (the badge counts to the resolution; who answered, when)."""
    if message.author_id is None or ticket.first_inbound_at is None or ticket.first_response_at is not None:
        return
    at = message.created_at or timezone.now()
    wait, business = _ticket_waits(ticket, ticket.first_inbound_at, at)
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
    sla_breach_check(ticket=ticket, at=at)  # late: the breach is marked now, not at the next watch
    ticket_event(ticket=ticket, event_type="ticket.changed")


def ticket_closed(*, ticket: Ticket, by: User | None, at: datetime) -> None:
    """The ticket was closed: CLOSED with the resolution time since the customer's first message,
    credited to who closed it (or, closed by the audit or a program, to whose it was)."""
    wall, business = _ticket_waits(ticket, ticket.first_inbound_at, at)
    milestone_add(
        ticket=ticket,
        kind=Milestone.Kind.CLOSED,
        at=at,
        agent=by or ticket.assignee,
        seconds=wall,
        business=business,
    )
    sla_breach_check(ticket=ticket, at=at)  # late: the breach is marked now, not at the next watch


def tickets_closed(*, rows: Sequence[Mapping], at: datetime) -> None:
    """Tickets closed set-based, without a model instance each (the audit's stale close, a batch at
    a time): CLOSED each, credited to whose it was. ``rows``: dicts with ``id``, ``connection_id``,
    ``queue_id``, ``assignee_id`` and ``first_inbound_at``. Two queries a batch at most (the
    queues' hours, one INSERT), however many tickets."""
    queue_ids = {row["queue_id"] for row in rows} - {None}
    hours = (
        {queue.pk: queue_hours(queue) for queue in Queue.objects.filter(pk__in=queue_ids)}
        if queue_ids
        else {}
    )
    closed = []
    for row in rows:
        wall, business = _waits(hours.get(row["queue_id"]), row["first_inbound_at"], at)
        closed.append(
            Milestone(
                ticket_id=row["id"],
                kind=Milestone.Kind.CLOSED,
                at=at,
                connection_id=row["connection_id"],
                queue_id=row["queue_id"],
                agent_id=row["assignee_id"],
                seconds=wall,
                business_seconds=business,
            )
        )
    Milestone.objects.bulk_create(closed)


def queue_entered(*, ticket: Ticket) -> None:
    """The ticket moved to ``ticket.queue`` (saved by the caller): QUEUED, and its due times follow
    the new queue's promises (the ones already met stay met), counted from the running windows'
    start: a reopened ticket moved to another queue is not late by the time it spent closed."""
    milestone_add(ticket=ticket, kind=Milestone.Kind.QUEUED)
    first, resolution = ticket.first_response_due, ticket.resolution_due
    due_times(ticket=ticket, queue=ticket.queue, since=ticket.sla_window_start)
    if (first, resolution) != (ticket.first_response_due, ticket.resolution_due):
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_due=ticket.first_response_due, resolution_due=ticket.resolution_due
        )


def ticket_assigned(*, ticket: Ticket, agent: User) -> None:
    """The ticket became ``agent``'s."""
    milestone_add(ticket=ticket, kind=Milestone.Kind.ASSIGNED, agent=agent)


def _ticket_waits(ticket: Ticket, start: datetime | None, end: datetime) -> tuple[float | None, float | None]:
    """``_waits`` in the ticket's queue's hours (no queue: always open)."""
    queue = ticket.queue if ticket.queue_id is not None else None
    return _waits(queue_hours(queue) if queue is not None else None, start, end)


def _waits(hours: Hours | None, start: datetime | None, end: datetime) -> tuple[float | None, float | None]:
    """(wall-clock seconds, business seconds) of [start, end): None for both without a start; without
    hours, always open (the business time is the wall time)."""
    if start is None:
        return None, None
    wall = max(0.0, (end - start).total_seconds())
    return wall, (business_seconds(hours, start, end) if hours is not None else wall)
