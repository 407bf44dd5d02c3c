"""Writes to tickets. Views, admin actions and the API call these, never ``save()`` directly.

Each action an agent takes is one function here: it writes the change, a
system line in the conversation where an agent would want one ("Ana
transferred to Sales"), and the realtime events, sent when the transaction
commits. The inbox page, the JSON API and the admin call the same function.
"""

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from contacts.services import contact_block, contact_upsert
from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import dashboard_changed, session_mark_read, session_wake
from tickets.conversation_flow import farewell
from tickets.inbound import ticket_for_contact
from tickets.media import CheckedMedia
from tickets.models import ONE_OPEN_TICKET_MESSAGE, Message, Queue, Ticket
from tickets.outbound import message_send, note_add, unsent_line_add
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event, ticket_groups
from tickets.text import with_signature
from whatsapp.models import Connection
from whatsapp.session_requests import SessionUnavailable, session_number_exists
from whatsapp.webhooks import webhook_emit


class ActionRefused(Exception):
    """The action cannot be done now; the message says why, for the user."""


def ticket_accept(*, ticket: Ticket, by: User) -> Ticket:
    """``by`` takes the ticket: assigned to them, open."""
    return _assign(ticket, by, by=by, line=gettext_noop("%(agent)s accepted the ticket"))


def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User | None = None) -> Ticket:
    """Give the ticket to ``assignee`` (None: to nobody); a pending ticket becomes open."""
    if assignee:
        line = gettext_noop("%(agent)s gave the ticket to %(assignee)s")
    else:
        line = gettext_noop("%(agent)s unassigned the ticket")
    return _assign(ticket, assignee, by=by, line=line)


def ticket_transfer(
    *,
    ticket: Ticket,
    queue: Queue | None = None,
    assignee: User | None = None,
    note: str = "",
    by: User | None = None,
) -> Ticket:
    """Move the ticket to another queue and/or agent, with an optional internal note.

    To an agent: theirs, open. To a queue only: it waits there for one of its agents.
    """
    if queue is None and assignee is None:
        raise ActionRefused(_("Choose a queue or an agent to transfer to."))
    with transaction.atomic():
        before = ticket_groups(ticket)
        if queue is not None:
            ticket.queue = queue
        ticket.assignee = assignee
        if assignee is None:
            ticket.status, ticket.waiting_since = Ticket.Status.PENDING, timezone.now()
        else:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["queue", "assignee", "status", "waiting_since", "updated_at"])
        target = ", ".join(str(part) for part in (queue, assignee and _name(assignee)) if part)
        _system_line(ticket, by, gettext_noop("%(agent)s transferred to %(target)s"), target=target)
        if note.strip():
            note_add(ticket=ticket, author=by, body=note.strip())
        _changed(ticket, left=before)
    return ticket


def ticket_return(*, ticket: Ticket, by: User | None) -> Ticket:
    """Back to waiting in its queue, for whichever of its agents comes first."""
    if ticket.status != Ticket.Status.OPEN:
        return ticket
    with transaction.atomic():
        before = ticket_groups(ticket)
        ticket.status, ticket.assignee, ticket.waiting_since = Ticket.Status.PENDING, None, timezone.now()
        ticket.save(update_fields=["status", "assignee", "waiting_since", "updated_at"])
        _system_line(ticket, by, gettext_noop("%(agent)s returned the ticket to waiting"))
        _changed(ticket, left=before)
    return ticket


def ticket_close(*, ticket: Ticket, by: User | None, reason: str, send_farewell: bool = True) -> Ticket:
    """Close the ticket, saying the connection's farewell unless told not to: one atomic change.

    The close is one conditional UPDATE (not closed yet), then the farewell is
    queued and the system line written, in the same transaction: a failure
    leaves neither a closed ticket without its line nor a farewell to an open
    ticket, and of two agents (or an agent and the audit) closing at once only
    the first closes and says goodbye. Closing a closed ticket changes nothing.
    """
    with transaction.atomic():
        now = timezone.now()
        closed = (
            Ticket.objects.filter(pk=ticket.pk)
            .exclude(status=Ticket.Status.CLOSED)
            .update(
                status=Ticket.Status.CLOSED,
                closed_at=now,
                closed_by=by,
                close_reason=reason,
                unread_count=0,
                updated_at=now,
            )
        )
        if not closed:
            ticket.refresh_from_db()
            return ticket
        ticket.status, ticket.closed_at, ticket.closed_by = Ticket.Status.CLOSED, now, by
        ticket.close_reason, ticket.unread_count, ticket.updated_at = reason, 0, now
        if send_farewell:
            farewell(ticket=ticket)
        _system_line(ticket, by, gettext_noop("%(agent)s closed the ticket"))
        _changed(ticket)
        webhook_emit(connection=ticket.connection, event="ticket.closed", payload=ticket_payload(ticket))
    return ticket


def ticket_reopen(*, ticket: Ticket, by: User | None) -> Ticket:
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
            ticket.save(
                update_fields=["status", "closed_at", "closed_by", "close_reason", "assignee", "updated_at"]
            )
            _system_line(ticket, by, gettext_noop("%(agent)s reopened the ticket"))
            _changed(ticket)
    except IntegrityError:
        ticket.refresh_from_db()
        raise ValidationError(ONE_OPEN_TICKET_MESSAGE, code="ticket_already_open") from None
    return ticket


def ticket_contact_block(*, ticket: Ticket, by: User, blocked: bool) -> Ticket:
    """Block (or unblock) the ticket's contact from its page, saying so in the conversation."""
    if ticket.contact.blocked == blocked:
        return ticket
    with transaction.atomic():
        contact_block(contact=ticket.contact, blocked=blocked)
        if blocked:
            _system_line(ticket, by, gettext_noop("%(agent)s blocked the contact"))
        else:
            _system_line(ticket, by, gettext_noop("%(agent)s unblocked the contact"))
        _changed(ticket)
    return ticket


def ticket_read(*, ticket: Ticket, by: User) -> None:
    """``by`` opened the ticket: its unread count goes to 0 (one UPDATE), and the chat is
    marked read on the phone unless the connection is set not to."""
    if not ticket.unread_count:
        return
    Ticket.objects.filter(pk=ticket.pk).update(unread_count=0)  # one statement: no transaction needed
    ticket.unread_count = 0
    ticket_event(ticket=ticket, event_type="ticket.changed")
    if ticket.connection.mark_chats_read:
        session_mark_read(connection_id=ticket.connection_id, chat=ticket.contact.wa_id)


def ticket_reply(
    *,
    ticket: Ticket,
    by: User,
    body: str = "",
    media: CheckedMedia | None = None,
    quoted: Message | None = None,
    internal: bool = False,
    signed: bool = False,
    voice: bool = False,
) -> Message:
    """An agent answers: a note (never sent), or a message queued for the customer.

    Answering a waiting ticket accepts it. ``signed``: the agent's name in bold
    on the first line, as Whaticket users are used to. ``voice``: the audio file goes as a
    voice message. A blocked contact gets nothing.
    """
    if internal:
        return note_add(ticket=ticket, author=by, body=body)
    if ticket.contact.blocked:
        raise ActionRefused(
            _("%(contact)s is blocked: unblock them to write to them.") % {"contact": ticket.contact}
        )
    if ticket.status == Ticket.Status.CLOSED:
        raise ActionRefused(_("The ticket is closed: reopen it to answer."))
    if signed and body.strip():
        body = with_signature(body=body, by=by)
    with transaction.atomic():
        if ticket.status == Ticket.Status.PENDING:
            ticket_accept(ticket=ticket, by=by)
        return message_send(
            ticket=ticket,
            author=by,
            body=body,
            media=media,
            quoted=quoted,
            voice=voice and media is not None and media.kind == Message.Kind.AUDIO,
        )


def message_retry(*, message: Message) -> Message:
    """Queue a failed message again. The session looks for an earlier attempt in the
    chat (by the message's fixed WhatsApp id) before sending, so it never goes twice."""
    if message.status != Message.Status.FAILED or not message.from_me:
        raise ActionRefused(_("Only a message that failed can be sent again."))
    with transaction.atomic():
        message.status, message.error = Message.Status.QUEUED, ""
        message.save(update_fields=["status", "error"])
        session_wake(connection_id=message.connection_id)
        ticket_event(
            ticket=message.ticket, event_type="message.status", message=message.pk, status=message.status
        )
    return message


def _assign(ticket: Ticket, assignee: User | None, *, by: User | None, line: str) -> Ticket:
    with transaction.atomic():
        before = ticket_groups(ticket)
        ticket.assignee = assignee
        if assignee is not None and ticket.status == Ticket.Status.PENDING:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["assignee", "status", "updated_at"])
        if by is not None:
            _system_line(ticket, by, line, assignee=assignee and _name(assignee))
        _changed(ticket, left=before)
    return ticket


def _changed(ticket: Ticket, *, left: Sequence[str] = ()) -> None:
    ticket_event(ticket=ticket, event_type="ticket.changed", left=left)
    dashboard_changed()


def _system_line(ticket: Ticket, by: User | None, text: str, **values) -> Message:
    """A line in the conversation saying what happened, never sent. ``text`` is marked
    with gettext_noop and written in the helpdesk's language (LANGUAGE_CODE): it is a
    record, like a log line, the same for every reader."""
    agent = _name(by) if by is not None else gettext_lazy("The helpdesk")
    body = in_helpdesk_language(text, **values, agent=agent)
    return unsent_line_add(ticket=ticket, author=by, kind=Message.Kind.SYSTEM, body=body)


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def phone_wa_id(phone: str) -> str:
    """The WhatsApp id of a number typed with its country code ("+55 11 98888-7777"): spaces, +,
    dashes and brackets dropped; ASCII digits only, 8 to 15 of them. ValidationError otherwise."""
    digits = "".join(ch for ch in phone if ch not in " +-()")
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        raise ValidationError(_("Enter the number with its country code, e.g. +55 11 98888-7777."))
    return f"{digits}@c.us"


def conversation_start(*, connection: Connection, phone: str, by: User, body: str = "") -> Ticket:
    """``by`` writes first to a number: WhatsApp is asked whether it exists, then the contact's
    ticket on ``connection`` (a new one, or the one already under way) is theirs and ``body``, if
    any, is queued. Refused (ActionRefused) when the connection cannot ask, the number has no
    WhatsApp, the contact is blocked, or another agent has the contact's ticket."""
    wa_id = phone_wa_id(phone)
    if connection.status != Connection.Status.CONNECTED:
        raise ActionRefused(_("%(connection)s is not connected.") % {"connection": connection})
    try:
        exists = session_number_exists(connection_id=connection.pk, wa_id=wa_id)
    except SessionUnavailable:
        refusal = _("%(connection)s does not answer; try again shortly.") % {"connection": connection}
        raise ActionRefused(refusal) from None
    if not exists:
        raise ActionRefused(_("+%(number)s has no WhatsApp.") % {"number": wa_id.split("@")[0]})
    with transaction.atomic():
        contact = contact_upsert(wa_id=wa_id)
        if contact.blocked:
            raise ActionRefused(
                _("%(contact)s is blocked: unblock them to write to them.") % {"contact": contact}
            )
        ticket, _new = ticket_for_contact(contact=contact, connection=connection)
        if ticket.assignee_id not in (None, by.pk):
            raise ActionRefused(
                _("%(agent)s already has ticket #%(ticket)s with %(contact)s.")
                % {"agent": ticket.assignee, "ticket": ticket.pk, "contact": contact}
            )
        if ticket.assignee_id is None:
            ticket_accept(ticket=ticket, by=by)
        if body.strip():
            ticket_reply(ticket=ticket, by=by, body=body)
    return ticket
