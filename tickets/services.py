"""Writes to tickets. Views, admin actions and the API call these, never ``save()`` directly."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.realtime import dashboard_changed
from tickets.models import ONE_OPEN_TICKET_MESSAGE, Ticket
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event, ticket_groups
from tickets.routing import farewell
from whatsapp.webhooks import webhook_emit


def ticket_close(*, ticket: Ticket, by: AbstractBaseUser | None, reason: str, send_farewell: bool = True) -> Ticket:
    """Close the ticket, saying the connection's farewell unless told not to.

    Closing a closed ticket changes nothing.
    """
    if ticket.status == Ticket.Status.CLOSED:
        return ticket
    if send_farewell:
        farewell(ticket=ticket)
    ticket.status = Ticket.Status.CLOSED
    ticket.closed_at = timezone.now()
    ticket.closed_by = by
    ticket.close_reason = reason
    ticket.unread_count = 0
    ticket.save(update_fields=["status", "closed_at", "closed_by", "close_reason", "unread_count", "updated_at"])
    ticket_event(ticket=ticket, event_type="ticket.changed")
    dashboard_changed()
    webhook_emit(connection=ticket.connection, event="ticket.closed", payload=ticket_payload(ticket))
    return ticket


def ticket_assign(*, ticket: Ticket, assignee: AbstractBaseUser | None) -> Ticket:
    """Give the ticket to ``assignee`` (None: to nobody); a pending ticket becomes open."""
    before = ticket_groups(ticket)
    ticket.assignee = assignee
    if assignee is not None and ticket.status == Ticket.Status.PENDING:
        ticket.status = Ticket.Status.OPEN
    ticket.save(update_fields=["assignee", "status", "updated_at"])
    ticket_event(ticket=ticket, event_type="ticket.changed", left=before)
    dashboard_changed()
    return ticket


def ticket_transfer(*, ticket: Ticket, queue) -> Ticket:
    """Move the ticket to another queue; it waits there for one of that queue's agents."""
    before = ticket_groups(ticket)
    ticket.queue, ticket.assignee = queue, None
    if ticket.status == Ticket.Status.OPEN:
        ticket.status = Ticket.Status.PENDING
    ticket.save(update_fields=["queue", "assignee", "status", "updated_at"])
    ticket_event(ticket=ticket, event_type="ticket.changed", left=before)
    dashboard_changed()
    return ticket


def ticket_reopen(*, ticket: Ticket, by: AbstractBaseUser | None) -> Ticket:
    """Reopen a closed ticket, assigned to ``by`` when nobody holds it.

    Raises ValidationError when the contact already has another ticket that is
    not closed on the same connection (the database constraint decides).
    """
    if ticket.status != Ticket.Status.CLOSED:
        return ticket
    ticket.status = Ticket.Status.OPEN
    ticket.closed_at = None
    ticket.closed_by = None
    ticket.close_reason = ""
    if ticket.assignee_id is None:
        ticket.assignee = by
    try:
        with transaction.atomic():
            ticket.save(update_fields=["status", "closed_at", "closed_by", "close_reason", "assignee", "updated_at"])
    except IntegrityError:
        ticket.refresh_from_db()
        raise ValidationError(ONE_OPEN_TICKET_MESSAGE, code="ticket_already_open") from None
    ticket_event(ticket=ticket, event_type="ticket.changed")
    dashboard_changed()
    return ticket
