"""Merging two contacts of one person (a phone written with and without the ninth digit, a phone
id and a LID WhatsApp reveals later): one contact, its tickets and history in one place.

It closes tickets and writes system lines, so it lives in tickets/, which knows contacts.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, ContactField, ContactMerge
from helpdesk.realtime import dashboard_changed
from tickets.milestones import ticket_closed
from tickets.models import Message, Ticket
from tickets.outbound import unsent_line_add
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event
from tickets.writing import ActionRefused
from whatsapp.webhooks import webhook_emit

# Who may merge: those who may write the audit line of a merge (admins; give it to a role in the admin).
MERGE_PERMISSION = "contacts.add_contactmerge"
FILLED = ["name", "push_name", "email", "phone", "notes", "avatar_url"]


def contact_merge(*, keep: Contact, other: Contact, by: User | None) -> Contact:
    """``other`` joins ``keep``, in one transaction: its tickets (with their messages) move to
    ``keep``; where both have a ticket not closed on one connection, ``keep``'s stays open and
    ``other``'s is closed with a line saying where the conversation goes on. Tags and custom fields
    move (``keep``'s value wins a clash), ``keep``'s empty details are filled from ``other``'s,
    ``keep.alias`` remembers ``other``'s id (so a message from it still finds the person), a
    blocked one blocks both. ``other`` is deleted; a ``ContactMerge`` row records who merged what.
    Returns ``keep``, refreshed.
    Refused (ActionRefused) for a contact with itself, or a group with a person."""
    if keep.pk == other.pk:
        raise ActionRefused(_("Choose two different contacts to merge."))
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk")
        rows = {contact.pk: contact for contact in locked}
        if len(rows) != 2:
            raise ActionRefused(_("One of the contacts no longer exists."))
        given, keep, other = keep, rows[keep.pk], rows[other.pk]  # as they are now, locked
        if keep.is_group != other.is_group:
            raise ActionRefused(_("A group cannot be merged with a person."))
        now = timezone.now()
        closed = _close_clashes(keep=keep, other=other, by=by, now=now)
        moved = list(Ticket.objects.filter(contact=other).order_by("pk"))
        Ticket.objects.filter(contact=other).update(contact=keep, updated_at=now)
        _details_move(keep=keep, other=other)
        audit = ContactMerge(
            by=by,
            by_name=_name(by) or "",
            kept=keep,
            kept_wa_id=keep.wa_id,
            merged_id=other.pk,
            merged_wa_id=other.wa_id,
            merged_alias=other.alias or "",
            merged_phone=other.phone,
            merged_name=other.display_name,
            tickets=[ticket.pk for ticket in moved],
            closed_tickets=closed,
        )
        other_alias, other_wa_id = other.alias, other.wa_id
        other.delete()  # its unique ids are free for keep from here
        keep.alias = keep.alias or other_alias or other_wa_id
        keep.save()
        audit.save()
        for ticket in moved:
            ticket.contact = keep
            ticket_event(ticket=ticket, event_type="ticket.changed")
        dashboard_changed()
    given.refresh_from_db()  # the caller's instance shows the merge (its other id, its details)
    return given


def _close_clashes(*, keep: Contact, other: Contact, by: User | None, now) -> list[int]:
    """Close ``other``'s tickets that are not closed on a connection where ``keep`` has one too
    (the database holds one per contact and connection): that conversation goes on in ``keep``'s."""
    kept = dict(
        Ticket.objects.filter(contact=keep)
        .exclude(status=Ticket.Status.CLOSED)
        .values_list("connection_id", "pk")
    )
    clashes = (
        Ticket.objects.filter(contact=other, connection_id__in=kept)
        .exclude(status=Ticket.Status.CLOSED)
        .select_related("connection")
    )
    closed = []
    for ticket in clashes:
        ticket.status, ticket.closed_at, ticket.closed_by = Ticket.Status.CLOSED, now, by
        ticket.close_reason, ticket.unread_count = Ticket.CloseReason.ADMIN, 0
        ticket.save(
            update_fields=["status", "closed_at", "closed_by", "close_reason", "unread_count", "updated_at"]
        )
        ticket_closed(ticket=ticket, by=by, at=now)
        unsent_line_add(
            ticket=ticket,
            author=by,
            kind=Message.Kind.SYSTEM,
            event={
                "event": "merged",
                "agent": _name(by),
                "ticket": kept[ticket.connection_id],
            },
        )
        webhook_emit(connection=ticket.connection, event="ticket.closed", payload=ticket_payload(ticket))
        closed.append(ticket.pk)
    return closed


def _details_move(*, keep: Contact, other: Contact) -> None:
    """Tags and custom fields join ``keep``'s (``keep``'s value wins a key both have); ``keep``'s
    empty details take ``other``'s."""
    keep.tags.add(*other.tags.all())
    taken = set(keep.custom_fields.values_list("key", flat=True))
    ContactField.objects.filter(contact=other).exclude(key__in=taken).update(contact=keep)
    for field in FILLED:
        if not getattr(keep, field):
            setattr(keep, field, getattr(other, field))
    keep.blocked = keep.blocked or other.blocked


def _name(user: User | None) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None
