"""The one way a ``Milestone`` row is made: with the ticket's connection and queue of the moment.

Apart from tickets/milestones.py (which decides when), so that tickets/sla.py and tickets/csat.py,
which tickets/milestones.py calls, write theirs without importing it back.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone

from tickets.models import Milestone, Ticket


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
    milestone = milestone_row(
        ticket, kind, at, agent=agent, seconds=seconds, business=business, rating=rating
    )
    milestone.save(force_insert=True)
    return milestone


def milestone_row(
    ticket: Ticket,
    kind: Milestone.Kind,
    at: datetime | None,
    *,
    agent: User | None = None,
    seconds: float | None = None,
    business: float | None = None,
    rating: int | None = None,
) -> Milestone:
    """The unsaved row of ``milestone_add`` (for a bulk INSERT of several)."""
    return Milestone(
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
