"""What a ticket's row says of its SLA, read with the row: no query, right before the watch ran.

Apart from tickets/sla.py (the watch and the breach) so the ticket's JSON (tickets/payloads.py),
which the breach's webhook sends, can say whether it is breached.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from tickets.models import Ticket

WARNING_SHARE = 0.2  # the last fifth of a promise's window is amber


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
    in time). Pure on the row's fields: the inbox reads them with the row."""
    due, start = _running(ticket)
    if sla_breached(ticket, now):
        return SlaClock(state="breached", due=due)
    if due is None:
        return None
    warn_at = due - (due - start) * WARNING_SHARE if start is not None and start < due else due
    return SlaClock(state="warning" if now >= warn_at else "ok", due=due, warn_at=warn_at)


def sla_state(ticket: Ticket, now: datetime) -> str | None:
    """The row's SLA: "ok", "warning" (the last 20 % of the window from the customer's first message, or the
    reopening, to the nearest unmet due time), "breached", or None when no SLA runs."""
    clock = sla_clock(ticket, now)
    return clock.state if clock else None


def _running(ticket: Ticket) -> tuple[datetime | None, datetime | None]:
    """(the nearest due time still to meet, when its window began) of a ticket not closed.

    The first response's window begins with the customer's first message. The resolution's too,
    unless the ticket was reopened: the row does not keep when, so the window is then the queue's
    promise itself, counted back from the due time (the reopening, when its hours were open)."""
    if ticket.status == Ticket.Status.CLOSED:
        return None, None
    running = []
    if ticket.first_response_at is None and ticket.first_response_due is not None:
        running.append((ticket.first_response_due, ticket.first_inbound_at))
    due = ticket.resolution_due
    if due is not None:
        queue = ticket.queue if ticket.reopen_count and ticket.queue_id is not None else None
        minutes = queue.sla_resolution_minutes if queue is not None else None
        running.append((due, due - timedelta(minutes=minutes) if minutes else ticket.first_inbound_at))
    return min(running, key=lambda clock: clock[0], default=(None, None))


def breached_q(now: datetime) -> Q:
    """The tickets whose SLA is breached (marked, or a due time passed unmet), as a filter."""
    overdue = Q(first_response_at__isnull=True, first_response_due__lte=now) | Q(resolution_due__lte=now)
    return Q(sla_breached_at__isnull=False) | (overdue & ~Q(status=Ticket.Status.CLOSED))
