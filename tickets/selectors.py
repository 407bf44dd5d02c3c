"""Reads of tickets, always through what the user may see."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from tickets.models import Ticket


def tickets_visible_to(*, user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Staff see every ticket; an agent sees the tickets of their queues, the
    ones assigned to them, and the ones no queue has taken yet (docs/decisions.md)."""
    tickets = Ticket.objects.all()
    if user.is_staff:
        return tickets
    return tickets.filter(Q(queue__members=user) | Q(assignee=user) | Q(queue__isnull=True)).distinct()


def ticket_counts(*, user: AbstractBaseUser) -> dict[str, int]:
    """How many pending and open tickets the user can see, in one query."""
    visible = Ticket.objects.filter(pk__in=tickets_visible_to(user=user).values("pk"))
    return visible.aggregate(
        pending=Count("pk", filter=Q(status=Ticket.Status.PENDING)),
        open=Count("pk", filter=Q(status=Ticket.Status.OPEN)),
    )


def inbox_tickets(*, user: AbstractBaseUser, status: str) -> QuerySet[Ticket]:
    return (
        tickets_visible_to(user=user)
        .filter(status=status)
        .select_related("contact", "connection", "queue", "assignee")
        .order_by("-last_message_at", "-id")
    )
