"""Tickets, messages and contacts as JSON: one shape for the API and the webhooks."""

from django.utils import timezone

from contacts.models import Contact
from tickets.models import Message, Ticket
from tickets.sla_clock import sla_breached
from whatsapp.addresses import lid_of


def ticket_payload(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "status": ticket.status,
        "contact": contact_payload(ticket.contact),
        "connection": ticket.connection_id,
        "queue": ticket.queue_id,
        "assignee": ticket.assignee_id,
        "unread_count": ticket.unread_count,
        "last_message_at": ticket.last_message_at,
        "last_message_preview": ticket.last_message_preview,
        "closed_at": ticket.closed_at,
        "close_reason": ticket.close_reason,
        "csat_rating": ticket.csat_rating,
        "csat_comment": ticket.csat_comment,
        "created_at": ticket.created_at,
        "first_response_due": ticket.first_response_due,
        "first_response_at": ticket.first_response_at,
        "resolution_due": ticket.resolution_due,
        "sla_breached": sla_breached(ticket, timezone.now()),
    }


def contact_payload(contact: Contact) -> dict:
    return {
        "id": contact.pk,
        "wa_id": contact.wa_id,
        "lid": lid_of(contact.wa_id, contact.alias),  # the channel tells which address is a LID
        "phone": contact.phone,
        "name": contact.display_name,
        "email": contact.email,
        "blocked": contact.blocked,
    }


def message_payload(message: Message, *, new: bool = False) -> dict:
    """``new``: the message was stored just now, so nothing has reacted to it yet (no query)."""
    reactions = [] if new else message.reactions.all()
    deleted = message.deleted_at is not None  # its content is served to nobody (tickets/message_changes.py)
    return {
        "id": message.pk,
        "ticket": message.ticket_id,
        "wa_id": message.wa_id,
        "from_me": message.from_me,
        "author": message.author_id,
        "kind": message.kind,
        "body": "" if deleted else message.body,
        "caption": "" if deleted else message.caption,
        "mimetype": "" if deleted else message.mimetype,
        "filename": "" if deleted else message.filename,
        "size": None if deleted else message.size,
        "status": message.status,
        "error": message.error,
        "wa_timestamp": message.wa_timestamp,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "send_at": message.send_at,
        "reactions": [{"emoji": r.emoji, "from_me": r.from_me} for r in reactions],
    }
