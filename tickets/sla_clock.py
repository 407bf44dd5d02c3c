"""What a ticket's row says of its SLA, read with the row: no query, right before the watch ran.

Apart from tickets/sla.py (the watch and the breach) so the ticket's JSON (tickets/payloads.py),
which the breach's webhook sends, can say whether it is breached.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from tickets.business_time import business_deadline, business_seconds
from tickets.hours import queue_hours
from tickets.models import Ticket

WARNING_SHARE = 0.2  # the last fifth of a promise's window (in its queue's business time) is amber


def sla_missed_at(ticket: Ticket, now: datetime) -> datetime | None:
    """The earliest due time that passed unmet by ``now``, from the row alone; None when none did.

    The first response is unmet when it had not come by its due time (came late, or not yet) and the
    ticket was not closed before, the resolution when the ticket was not closed by its due time."""
    closed = ticket.closed_at if ticket.status == Ticket.Status.CLOSED else None
    missed = []
    first_due = ticket.first_response_due
    if first_due is not None and first_due <= now:
        answered = ticket.first_response_at or closed  # closed in time without a word: nothing to answer
        if answered is None or answered > first_due:
            missed.append(first_due)
    resolution_due = ticket.resolution_due
    if resolution_due is not None and resolution_due <= now and (closed is None or closed > resolution_due):
        missed.append(resolution_due)
    return min(missed, default=None)


def sla_breached(ticket: Ticket, now: datetime) -> bool:
    """Breached once marked, or as soon as a due time passes unmet (before the watch ran)."""
    return ticket.sla_breached_at is not None or sla_missed_at(ticket, now) is not None


@dataclass(frozen=True)
class SlaClock:
    """The running promise an inbox row shows: ``state`` "ok" | "warning" | "breached", the due time it
    counts to (None once breached with nothing running) and when it turns amber."""

    state: str
    due: datetime | None = None
    warn_at: datetime | None = None


def sla_clock(ticket: Ticket, now: datetime) -> SlaClock | None:
    """The SLA of ``ticket`` as its row shows it; None when no promise runs (no SLA, met, or closed
    in time). Pure on the row's fields and its queue's hours: the inbox reads them with the row."""
    due = _running_due(ticket)
    if sla_breached(ticket, now):
        return SlaClock(state="breached", due=due)
    if due is None:
        return None
    warn_at = _warning_at(ticket, due)
    return SlaClock(state="warning" if now >= warn_at else "ok", due=due, warn_at=warn_at)


def sla_state(ticket: Ticket, now: datetime) -> str | None:
    """The row's SLA: "ok", "warning" (the last 20 % of the window from the customer's first message, or the
    reopening, to the nearest unmet due time, in business time), "breached", or None when no SLA runs."""
    clock = sla_clock(ticket, now)
    return clock.state if clock else None


def _running_due(ticket: Ticket) -> datetime | None:
    """The nearest due time still to meet of a ticket not closed."""
    if ticket.status == Ticket.Status.CLOSED:
        return None
    running = [ticket.resolution_due]
    if ticket.first_response_at is None:
        running.append(ticket.first_response_due)
    return min((due for due in running if due is not None), default=None)


def _warning_at(ticket: Ticket, due: datetime) -> datetime:
    """When the last WARNING_SHARE of the window to ``due`` begins. Both windows still to meet began
    at ``sla_window_start`` (the customer's first message, or the last reopening: tickets/milestones.py
    counts both due times from there), and the share is of the queue's business time, so a queue that
    closes for the night does not turn amber while closed with most of its promise left."""
    start = ticket.sla_window_start or ticket.first_inbound_at
    if start is None or start >= due:
        return due
    queue = ticket.queue if ticket.queue_id is not None else None
    hours = queue_hours(queue) if queue is not None else None
    if hours is None or hours.always_open:
        return due - (due - start) * WARNING_SHARE
    left = business_seconds(hours, start, due) * (1 - WARNING_SHARE) / 60
    return business_deadline(hours, start, left) or due


def breached_q(now: datetime) -> Q:
    """The tickets whose SLA is breached (marked, or a due time passed unmet), as a filter."""
    overdue = Q(first_response_at__isnull=True, first_response_due__lte=now) | Q(resolution_due__lte=now)
    return Q(sla_breached_at__isnull=False) | (overdue & ~Q(status=Ticket.Status.CLOSED))
