"""Writes to tickets. Views, admin actions and the API call these, never ``save()`` directly.

Each action an agent takes is one function here: it writes the change, a
system line in the conversation where an agent would want one ("Ana
transferred to Sales"), and the realtime events, sent when the transaction
commits. The inbox page, the JSON API and the admin call the same function.
"""

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.selectors import contacts_at
from contacts.services import contact_block, contact_upsert
from helpdesk.phones import phone_display
from helpdesk.realtime import dashboard_changed, session_mark_read, session_wake
from tickets.assignment import agent_active_on_commit, assign_on_commit, backlog_on_commit
from tickets.conversation_flow import farewell, queue_welcome
from tickets.csat import csat_ask
from tickets.inbound import ticket_for_contact, ticket_under_way
from tickets.media import CheckedMedia
from tickets.milestones import queue_entered, ticket_assigned, ticket_closed, ticket_reopened
from tickets.models import ONE_OPEN_TICKET_MESSAGE, Message, Queue, Ticket
from tickets.outbound import message_send, note_add, unsent_line_add
from tickets.payloads import ticket_payload
from tickets.realtime import ticket_event, ticket_groups
from tickets.scheduling import send_at_check
from tickets.selectors import works_in_queues
from tickets.text import with_signature
from tickets.writing import ActionRefused, contact_receives, write_check
from whatsapp.models import Connection
from whatsapp.numbers import phone_address, phone_addresses
from whatsapp.session_requests import BusUnavailable, SessionUnavailable, session_number_resolve
from whatsapp.webhooks import webhook_emit


def ticket_accept(*, ticket: Ticket, by: User) -> Ticket:
    """``by`` takes the ticket: assigned to them, open."""
    return _assign(ticket, by, by=by, event="accepted")


def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User | None = None) -> Ticket:
    """Give the ticket to ``assignee`` (None: to nobody); a pending ticket becomes open."""
    return _assign(ticket, assignee, by=by, event="assigned" if assignee else "unassigned")


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
        before, previous = ticket_groups(ticket), ticket.assignee_id
        if queue is not None:
            ticket.queue = queue
        ticket.assignee = assignee
        if assignee is None:
            ticket.status, ticket.waiting_since = Ticket.Status.PENDING, timezone.now()
        else:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["queue", "assignee", "status", "waiting_since", "updated_at"])
        if queue is not None:
            queue_entered(ticket=ticket)
        if assignee is not None:
            ticket_assigned(ticket=ticket, agent=assignee)
        target = [name for name in (queue and queue.name, assignee and _name(assignee)) if name]
        _system_line(ticket, by, "transferred", target=target)
        if queue is not None and assignee is None and contact_receives(contact=ticket.contact):
            queue_welcome(ticket=ticket, greeting="")  # waiting in a closed queue: the customer is told
        if note.strip():
            note_add(ticket=ticket, author=by, body=note.strip())
        _changed(ticket, left=before)
        assign_on_commit(ticket=ticket)  # to a queue only: one that assigns by itself gives it at once
        _slot_freed(previous, keeps=assignee.pk if assignee else None)
    return ticket


def ticket_return(*, ticket: Ticket, by: User | None) -> Ticket:
    """Back to waiting in its queue, for whichever of its agents comes first."""
    if ticket.status != Ticket.Status.OPEN:
        return ticket
    with transaction.atomic():
        before, previous = ticket_groups(ticket), ticket.assignee_id
        ticket.status, ticket.assignee, ticket.waiting_since = Ticket.Status.PENDING, None, timezone.now()
        ticket.save(update_fields=["status", "assignee", "waiting_since", "updated_at"])
        _system_line(ticket, by, "returned")
        _changed(ticket, left=before)
        backlog_on_commit(queue_id=ticket.queue_id)  # the oldest waiting first, this one among them
        _slot_freed(previous)
    return ticket


def ticket_close(*, ticket: Ticket, by: User | None, reason: str, send_farewell: bool = True) -> Ticket:
    """Close the ticket, saying the connection's farewell unless told not to: one atomic change.

    The close is one conditional UPDATE (not closed yet), then the farewell is
    queued and the system line written, in the same transaction: a failure
    leaves neither a closed ticket without its line nor a farewell to an open
    ticket, and of two agents (or an agent and the audit) closing at once only
    the first closes and says goodbye. An agent's close (the page, the API) also
    asks the customer's satisfaction when the connection does (tickets/csat.py).
    Closing a closed ticket changes nothing.
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
        ticket_closed(ticket=ticket, by=by, at=now)
        if send_farewell:
            farewell(ticket=ticket)
        if reason in (Ticket.CloseReason.AGENT, Ticket.CloseReason.API):  # not the audit's nor the admin's
            csat_ask(ticket=ticket)
        _system_line(ticket, by, "closed")
        _changed(ticket)
        webhook_emit(connection=ticket.connection, event="ticket.closed", payload=ticket_payload(ticket))
        _slot_freed(ticket.assignee_id)
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
    ticket.reopen_count += 1
    try:
        with transaction.atomic():
            ticket.save(
                update_fields=[
                    "status",
                    "closed_at",
                    "closed_by",
                    "close_reason",
                    "assignee",
                    "reopen_count",
                    "updated_at",
                ]
            )
            ticket_reopened(ticket=ticket, by=by)
            _system_line(ticket, by, "reopened")
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
            _system_line(ticket, by, "blocked")
        else:
            _system_line(ticket, by, "unblocked")
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
    send_at: datetime | None = None,
) -> Message:
    """An agent answers: a note (never sent), or a message queued for the customer.

    Answering a waiting ticket accepts it. ``signed``: the agent's name in bold
    on the first line, as Whaticket users are used to. ``voice``: the audio file goes as a
    voice message. ``send_at``: scheduled for then (tickets/scheduling.py; ValidationError on
    ``send_at`` for a time that has passed, is more than a year ahead or has no zone; a note is
    never scheduled). Refused by ``write_check`` (a blocked contact, a ticket ``by`` may not see).
    """
    if send_at is not None:
        if internal:
            raise ValidationError({"send_at": _("An internal note is never sent: it cannot be scheduled.")})
        send_at_check(send_at)
    if internal:
        return note_add(ticket=ticket, author=by, body=body)
    write_check(user=by, contact=ticket.contact, ticket=ticket)
    if ticket.status == Ticket.Status.CLOSED:
        raise ActionRefused(_("The ticket is closed: reopen it to answer."))
    if signed and body.strip():
        body = with_signature(body=body, by=by)
    with transaction.atomic():
        agent_active_on_commit(user=by)
        if ticket.status == Ticket.Status.PENDING:
            ticket_accept(ticket=ticket, by=by)
        return message_send(
            ticket=ticket,
            author=by,
            body=body,
            media=media,
            quoted=quoted,
            voice=voice and media is not None and media.kind == Message.Kind.AUDIO,
            send_at=send_at,
        )


def message_retry(*, message: Message, by: User) -> Message:
    """``by`` queues a failed message again (``write_check``: not to a contact blocked since). The
    session looks for an earlier attempt in the chat (by the message's fixed WhatsApp id) before
    sending, so it never goes twice."""
    if message.status != Message.Status.FAILED or not message.from_me:
        raise ActionRefused(_("Only a message that failed can be sent again."))
    write_check(user=by, contact=message.ticket.contact, ticket=message.ticket)
    with transaction.atomic():
        message.status, message.error = Message.Status.QUEUED, ""
        message.save(update_fields=["status", "error"])
        session_wake(connection_id=message.connection_id)
        ticket_event(
            ticket=message.ticket, event_type="message.status", message=message.pk, status=message.status
        )
    return message


def _assign(ticket: Ticket, assignee: User | None, *, by: User | None, event: str) -> Ticket:
    with transaction.atomic():
        before, previous = ticket_groups(ticket), ticket.assignee_id
        ticket.assignee = assignee
        if assignee is not None and ticket.status == Ticket.Status.PENDING:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["assignee", "status", "updated_at"])
        if assignee is not None:
            ticket_assigned(ticket=ticket, agent=assignee)
        if by is not None:
            _system_line(ticket, by, event, assignee=assignee and _name(assignee))
        _changed(ticket, left=before)
        _slot_freed(previous, keeps=assignee.pk if assignee else None)
    return ticket


def _slot_freed(agent_id: int | None, *, keeps: int | None = None) -> None:
    """The agent no longer holds the ticket (closed, returned, given to another): once committed, the
    oldest waiting tickets of their queues may come to them."""
    if agent_id is not None and agent_id != keeps:
        backlog_on_commit(user_id=agent_id)


def _changed(ticket: Ticket, *, left: Sequence[str] = ()) -> None:
    ticket_event(ticket=ticket, event_type="ticket.changed", left=left)
    dashboard_changed()


def _system_line(ticket: Ticket, by: User | None, event: str, **values) -> Message:
    """A line in the conversation saying what happened, never sent: ``event`` (a name of
    tickets/system_lines.py's LINES) and its names, read in each reader's language."""
    return unsent_line_add(
        ticket=ticket,
        author=by,
        kind=Message.Kind.SYSTEM,
        event={"event": event, "agent": by and _name(by), **values},
    )


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def phone_digits(phone: str) -> str:
    """A number typed with its country code ("+55 11 98888-7777") as E.164 digits: spaces, +,
    dashes and brackets dropped; ASCII digits only, 8 to 15 of them. ValidationError otherwise."""
    digits = "".join(ch for ch in phone if ch not in " +-()")
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        raise ValidationError(_("Enter the number with its country code, e.g. +55 11 98888-7777."))
    return digits


def conversation_start(*, connection: Connection, phone: str, by: User, body: str = "") -> Ticket:
    """``by`` writes first to a number (the page's Start a conversation): the contact's ticket on
    ``connection`` (a new one, or the one under way) becomes theirs and ``body``, if any, is queued.
    The number is the one WhatsApp uses (``_number_check``): typed without a Brazilian mobile's ninth
    digit, it finds the customer who wrote with it. Refused (ActionRefused) as ``_number_check``
    says, or when another agent has the ticket."""
    address = _number_check(connection=connection, phone=phone_digits(phone), by=by)
    with transaction.atomic():
        ticket, _started = _conversation_for(connection=connection, address=address, by=by)
        if ticket.assignee_id not in (None, by.pk):  # a ticket they may see: the colleague may be named
            raise ActionRefused(
                _("%(agent)s already has ticket #%(ticket)s with %(contact)s.")
                % {"agent": ticket.assignee, "ticket": ticket.pk, "contact": ticket.contact}
            )
        if ticket.assignee_id is None:
            ticket_accept(ticket=ticket, by=by)
        if body.strip():
            ticket_reply(ticket=ticket, by=by, body=body)
    return ticket


def number_message_send(
    *, connection: Connection, phone: str, by: User, body: str, queue_if_offline: bool = False
) -> Message:
    """A program writes to a number (the API; ``phone``: E.164 digits): ``body`` is queued in the
    contact's ticket on ``connection``. A ticket it starts (new, or reopened without an agent) is
    the caller's when they are an agent (a member of a queue), as Start a conversation makes it;
    else (an integration's token) it goes to its queue's assignment as a customer's new ticket does,
    and waits there. A ticket under way stays as it is. ``queue_if_offline``: a connection that is
    not connected sends it when it is (WhatsApp is not asked then). Refused as ``_number_check``
    says."""
    address = _number_check(connection=connection, phone=phone, by=by, offline_ok=queue_if_offline)
    with transaction.atomic():
        ticket, started = _conversation_for(connection=connection, address=address, by=by)
        if started and ticket.assignee_id is None:
            if works_in_queues(user=by):
                ticket_accept(ticket=ticket, by=by)
            else:
                assign_on_commit(ticket=ticket)  # in a queue that assigns by itself, to an agent there
        return message_send(ticket=ticket, author=by, body=body)


def _number_check(*, connection: Connection, phone: str, by: User, offline_ok: bool = False) -> str:
    """The address a message to ``phone`` goes to: the one WhatsApp answers it uses, asked through
    the connection's session before any contact is looked up or made. What is refused first: a
    contact ``by`` may not write to (``write_check`` on each contact the number may be, asked first
    so WhatsApp is not asked in vain), a connection that is not connected (unless ``offline_ok``:
    then the existing contact's address, or the number as typed), a session or bus that does not
    answer, a number without WhatsApp. Each refusal's ``code`` is the API's ``error_code``."""
    known = contacts_at(addresses=phone_addresses(phone))
    for contact in known:
        write_check(user=by, contact=contact, ticket=ticket_under_way(contact=contact, connection=connection))
    if connection.status != Connection.Status.CONNECTED:
        if offline_ok:
            return known[0].wa_id if known else phone_address(phone)
        refusal = _("%(connection)s is not connected.") % {"connection": connection}
        raise ActionRefused(refusal, code="ACCOUNT_NOT_READY")
    try:
        address = session_number_resolve(connection_id=connection.pk, phone=phone)
    except SessionUnavailable:
        refusal = _("%(connection)s does not answer; try again shortly.") % {"connection": connection}
        raise ActionRefused(refusal, code="ACCOUNT_NOT_READY") from None
    except BusUnavailable:
        refusal = _("The realtime bus (Redis) is unavailable: try again in a moment.")
        raise ActionRefused(refusal, code="BUS_UNAVAILABLE") from None
    if address is None:
        refusal = _("%(number)s has no WhatsApp.") % {"number": phone_display(phone)}
        raise ActionRefused(refusal, code="NOT_ON_WHATSAPP")
    return address


def _conversation_for(*, connection: Connection, address: str, by: User) -> tuple[Ticket, bool]:
    """In the caller's transaction: the ticket a message to ``address`` goes to, its contact (known
    by that id or as its other id) made on first sight, and whether this started it (new or
    reopened). ``write_check`` again, now that the contact exists: the customer may have written
    while WhatsApp was asked."""
    known = contacts_at(addresses=[address])
    contact = known[0] if known else contact_upsert(wa_id=address)
    write_check(user=by, contact=contact, ticket=ticket_under_way(contact=contact, connection=connection))
    return ticket_for_contact(contact=contact, connection=connection)
