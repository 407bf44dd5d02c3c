"""Service levels: whether a ticket kept its queue's promises, and the breach, marked once.

The due times are written when a ticket opens, changes queue or reopens (tickets/milestones.py).
A due time passes unmet silently, so a watch looks for those every minute (``sla_watch``, the
django-q2 schedule of migration 0014); an answer or a close that comes late marks the breach at once
(``sla_breach_check``). Either way the breach is marked once: one conditional UPDATE decides, so two
watchers at once (or a watcher and a late answer) cannot both fire it. It stays after a late answer.

What a page or the API shows is computed from the row as it is read (tickets/sla_clock.py, its
names also importable from here: ``sla_state``, ``sla_breached``...), so it is right before the
watch ran and costs no query.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tickets.milestone_rows import milestone_add
from tickets.models import Milestone, Ticket
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event
from tickets.sla_clock import SlaClock, breached_q, sla_breached, sla_clock, sla_missed_at, sla_state
from whatsapp.webhooks import webhook_emit

__all__ = [
    "SlaClock",
    "breached_q",
    "overdue_tickets",
    "sla_breach_check",
    "sla_breached",
    "sla_clock",
    "sla_missed_at",
    "sla_state",
    "sla_watch",
]

WATCH_BATCH = 500  # tickets one run marks at most (the next minute takes the rest)


def sla_watch() -> int:
    """The schedule's task: mark each ticket whose due time passed unmet breached, once. Returns how
    many it marked (at most WATCH_BATCH of each kind a run; the next minute takes the rest)."""
    now = timezone.now()
    pks = {
        pk for overdue in overdue_tickets(now) for pk in overdue.values_list("pk", flat=True)[:WATCH_BATCH]
    }
    return sum(_breach(pk, now) for pk in sorted(pks))


def overdue_tickets(now: datetime) -> tuple[QuerySet[Ticket], QuerySet[Ticket]]:
    """The tickets not closed nor breached yet whose first answer, or whose resolution, is overdue,
    oldest due time first: each read through its partial index (tickets/models.py), so a minute's
    run walks two short index ranges however many tickets there are."""
    waiting = Ticket.objects.filter(sla_breached_at__isnull=True).exclude(status=Ticket.Status.CLOSED)
    return (
        waiting.filter(first_response_at__isnull=True, first_response_due__lte=now).order_by(
            "first_response_due"
        ),
        waiting.filter(resolution_due__lte=now).order_by("resolution_due"),
    )


def sla_breach_check(*, ticket: Ticket, at: datetime) -> None:
    """A first answer or a close happened at ``at`` (saved): when it came after its due time, the
    breach is marked now rather than at the watch's next run."""
    if ticket.sla_breached_at is None and sla_missed_at(ticket, at) is not None:
        _breach(ticket.pk, at)


def _breach(pk: int, now: datetime) -> bool:
    """Mark ticket ``pk`` breached at the due time it missed, if it still missed one and nobody marked
    it: the SLA_BREACHED milestone (its queue, its agent), the webhook and the inbox's event, once."""
    with transaction.atomic():
        ticket = Ticket.objects.select_related("connection", "contact", "assignee").filter(pk=pk).first()
        missed = sla_missed_at(ticket, now) if ticket is not None else None
        if ticket is None or missed is None:
            return False
        marked = Ticket.objects.filter(pk=pk, sla_breached_at__isnull=True).update(sla_breached_at=missed)
        if not marked:  # another watcher, or a late answer, marked it first
            return False
        ticket.sla_breached_at = missed
        milestone_add(ticket=ticket, kind=Milestone.Kind.SLA_BREACHED, at=missed, agent=ticket.assignee)
        ticket_event(ticket=ticket, event_type="ticket.changed")
        webhook_emit(
            connection=ticket.connection, event="ticket.sla_breached", payload=ticket_payload(ticket)
        )
    return True
