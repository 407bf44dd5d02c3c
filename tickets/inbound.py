"""Messages from WhatsApp into tickets: each stored exactly once, in its ticket.

The session calls ``chat_messages_ingest`` with the messages the page reports,
live or fetched again after a reconnect, a chat at a time in the order WhatsApp
gave them (different chats at the same time, whatsapp/lanes.py). They arrive
as ``InboundMessage``: read, checked and cut to the columns by whatsapp/wire.py,
so nothing here reads a wa-js key or trusts what a customer sent. A message
is unique by (connection, WhatsApp id) in the database, so a replay changes
nothing and announces nothing. Two first messages of one contact at the same
instant race for the one ticket that may be open; the loser's transaction is
retried and finds the winner's ticket. A message to a recently closed ticket
reopens it, unless it answers the ticket's satisfaction question (tickets/csat.py):
then it is stored in the closed ticket, which stays closed.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from contacts.models import Contact
from contacts.services import contact_addresses_set, contact_create, contact_name_refresh
from helpdesk.files import file_save, files_removed_on_failure
from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import dashboard_changed
from tickets.assignment import assign_on_commit
from tickets.conversation_flow import greet_new_ticket, route_answer
from tickets.csat import csat_record, csat_replies
from tickets.media import stored_name
from tickets.merging import contact_merge
from tickets.milestones import first_inbound_set, ticket_opened, ticket_reopened
from tickets.models import Message, Ticket
from tickets.outbound import echoes_claim
from tickets.payloads import message_payload, ticket_payload
from tickets.realtime import ticket_event
from whatsapp.models import Connection, DeadLetter
from whatsapp.webhooks import webhook_emit
from whatsapp.wire import InboundMessage, Person

logger = logging.getLogger(__name__)

ATTEMPTS = 3
Batch = list[InboundMessage]  # messages of one chat, each with its download when it has a file
TOUCHED = ["last_message_at", "last_message_preview", "last_inbound_at", "last_outbound_at"]


def accepts_chat(chat: str) -> bool:
    if chat.endswith("@broadcast"):  # status updates and broadcast lists
        return False
    return settings.WHATSAPP_ACCEPT_GROUPS or not chat.endswith("@g.us")


def message_is_new(*, connection_id: int, message: InboundMessage) -> bool:
    """Whether ``message`` still needs storing (the session checks before downloading media)."""
    return accepts_chat(message.chat) and not _stored(connection_id, [message]).exists()


def message_ingest(*, connection: Connection, message: InboundMessage) -> Message | None:
    """Store ``message`` in its ticket; None when it was not new.

    ``message.download`` is the file the session fetched; its ``data`` is None when
    the file was over WHATSAPP_MAX_MEDIA_MB or could not be downloaded (then
    ``error`` says why). The message is stored either way.
    """
    stored = chat_messages_ingest(connection=connection, chat=message.chat, messages=[message])
    return stored[0] if stored else None


def chat_messages_ingest(*, connection: Connection, chat: str, messages: Batch) -> list[Message]:
    """Store messages of one chat, in the order given, in one transaction; returns those that were new.

    The session hands over what piled up for a chat while it was storing the
    previous batch, so a busy chat costs one transaction per batch rather than
    per message: a message to an open ticket costs three queries (the ticket
    with its contact and whether any message is stored already, the INSERT,
    the ticket's counters) for the whole batch (docs/benchmarks.md). Raises
    ValueError for messages without a usable chat (the wire module left it
    empty): the session keeps them as dead letters (whatsapp/dead_letters.py).
    """
    if not chat:
        raise ValueError("The message has no usable chat id.")
    if not accepts_chat(chat) or not messages:
        return []
    messages = _first_of_each(messages)
    for attempt in range(ATTEMPTS):
        try:
            with files_removed_on_failure(), transaction.atomic():
                return _store(connection, chat, messages)
        except IntegrityError:  # a concurrent first message made the contact or ticket: look again
            if attempt == ATTEMPTS - 1:
                raise
    return []


def _first_of_each(messages: Batch) -> Batch:
    """A message twice in one batch (heard live, and fetched again by the catch-up) counts once."""
    unique: dict[str, InboundMessage] = {}
    for message in messages:
        unique.setdefault(message.id, message)
    return list(unique.values())


def _stored(connection: Connection | int, messages: Batch):
    return Message.objects.filter(connection=connection, wa_id__in=[message.id for message in messages])


def _store(connection: Connection, chat: str, messages: Batch) -> list[Message]:
    ticket, contact, messages = _ticket_and_new_messages(
        connection, chat, _without_echoes(connection, messages)
    )
    if not messages:
        return []
    names = [message.push_name for message in messages if not message.from_me]
    push_name = next((name for name in reversed(names) if name), "")  # the newest the customer gave
    stored = [_message(connection, message) for message in messages]
    answers: list[Message] = []
    reopened = None
    if contact is None:  # no tickets yet: nothing to reopen
        person = _person(chat, messages)
        contact = contact_create(
            wa_id=person.address, alias=person.alias, phone=person.phone, push_name=push_name
        )
    else:
        contact_name_refresh(contact=contact, push_name=push_name)
        closed = None if ticket else _recently_closed(contact, connection)
        if closed is not None:
            answers = _csat_answers_store(connection, closed, stored, messages)
            stored, messages = stored[len(answers) :], messages[len(answers) :]
            reopened = _reopened(closed) if stored else None
        if not stored:
            return answers
    ticket = ticket or reopened or _ticket_new(contact, connection)
    created = ticket.pk is None
    _ticket_touch(ticket, stored, reopened=reopened is not None)
    _file(ticket, stored, messages)
    _react(connection, ticket, stored, created=created)
    if created or reopened:
        dashboard_changed()
        assign_on_commit(ticket=ticket)  # in a queue that assigns by itself, to an agent who is there
    return answers + stored


def _file(ticket: Ticket, stored: list[Message], received: Batch) -> None:
    """INSERT the messages into ``ticket`` (saved by now), each with its downloaded file."""
    for message, given in zip(stored, received, strict=False):
        message.ticket = ticket  # saved by now, so the file goes under messages/<connection>/<ticket>/
        if given.download and given.download.data is not None:
            file_save(message.media, media_filename(message), ContentFile(given.download.data))
    Message.objects.bulk_create(stored)


def _csat_answers_store(
    connection: Connection, ticket: Ticket, stored: list[Message], received: Batch
) -> list[Message]:
    """The batch's first messages that answer the closed ``ticket``'s satisfaction question
    (tickets/csat.py), stored in it: it stays closed and they are not counted unread. No query
    when the ticket asked nothing or the first message is no answer."""
    replies = csat_replies(ticket=ticket, messages=stored)
    if not replies:
        return []
    answers = stored[: len(replies)]
    _ticket_touch(ticket, answers, reopened=False, unread=False)
    _file(ticket, answers, received[: len(replies)])
    csat_record(ticket=ticket, answers=replies)
    _react(connection, ticket, answers, created=False, flow=False)
    return answers


def _without_echoes(connection: Connection, messages: Batch) -> Batch:
    """The batch without our own replies heard back: their rows are marked sent instead, in this
    transaction (tickets/outbound.py). No query when the batch has none."""
    echoes = [(message.id, row) for message in messages if (row := message.reply_row) is not None]
    if not echoes:
        return messages
    claimed = echoes_claim(connection=connection, echoes=echoes)
    return [message for message in messages if message.id not in claimed]


def _ticket_and_new_messages(connection: Connection, chat: str, messages: Batch):
    """(the chat's open ticket or None, its contact or None, the messages not stored yet), in
    one query when the ticket is open, its contact already holds the chat's addresses and nothing
    is a replay. The contact is found by either of the person's addresses (whatsapp/addresses.py);
    one that learns an address, or two that turn out to be one person, go through ``_contact_of``."""
    person = _person(chat, messages)
    any_stored = Exists(_stored(connection, messages))
    under_way = (
        Ticket.objects.filter(_holding(person.addresses, "contact__"), connection=connection)
        .exclude(status=Ticket.Status.CLOSED)
        .select_related("contact")
        .annotate(any_stored=any_stored)
        .first()
    )
    contact: Contact | None
    ticket: Ticket | None
    if under_way and _knows(under_way.contact, person):
        ticket, contact, replay = under_way, under_way.contact, under_way.any_stored
    else:
        found = list(Contact.objects.filter(_holding(person.addresses)).annotate(any_stored=any_stored))
        if len(found) == 1 and _knows(found[0], person):  # a known contact without an open ticket
            ticket, contact, replay = None, found[0], found[0].any_stored
        else:  # rare: nobody yet, or an address learned, or two contacts of one person
            contact = _contact_of(person, chat, found)
            ticket = _open_ticket(contact, connection) if contact else None
            replay = bool(found) and any(candidate.any_stored for candidate in found)
    if replay:  # a replay, whole or in part (rare)
        known = set(_stored(connection, messages).values_list("wa_id", flat=True))
        messages = [message for message in messages if message.id not in known]
    return ticket, contact, messages


def _person(chat: str, messages: Batch) -> Person:
    """Who the chat is, as the session resolved it (every message of a batch carries the same)."""
    return next((message.person for message in messages if message.person), None) or Person(address=chat)


def _holding(addresses: tuple[str, ...], prefix: str = "") -> Q:
    """The contacts holding any of ``addresses``, as the address replies go to or as their other one."""
    return Q(**{f"{prefix}wa_id__in": addresses}) | Q(**{f"{prefix}alias__in": addresses})


def _knows(contact: Contact, person: Person) -> bool:
    """Whether the contact already holds all the channel tells of the person (nothing to learn)."""
    if not set(person.addresses) <= {contact.wa_id, contact.alias}:
        return False
    return not person.phone or (contact.wa_id == person.address and bool(contact.phone))


def _open_ticket(contact: Contact, connection: Connection) -> Ticket | None:
    return (
        Ticket.objects.filter(contact=contact, connection=connection)
        .exclude(status=Ticket.Status.CLOSED)
        .first()
    )


def _contact_of(person: Person, chat: str, found: Sequence[Contact]) -> Contact | None:
    """The person's contact, given the contacts holding any of their addresses (``found``); None when
    there is none yet (the caller makes it). A contact learns the addresses and phone the channel revealed;
    two contacts of one person are merged into the one replies go to (``contact_merge``). A mapping that
    would give a person a third address or a second phone number (two different people joined: WhatsApp's
    answer is wrong or hostile) is refused and logged: the message goes to the contact of the chat it came
    from, as if nothing were mapped."""
    if not found:
        return None
    addresses = set(person.addresses)
    phones = {person.phone} - {""}
    for contact in found:
        addresses |= {address for address in (contact.wa_id, contact.alias) if address}
        phones |= {contact.phone} - {""}
    if len(addresses) > 2 or len(phones) > 1:
        return _mapping_refused(person, chat, found, phones)
    keep = min(found, key=lambda contact: (contact.wa_id != person.address, not contact.phone, contact.pk))
    for other in found:
        if other.pk != keep.pk:
            keep = contact_merge(keep=keep, other=other, by=None)
    wa_id = person.address if person.phone else keep.wa_id  # replies go to the phone once it is known
    alias = next(iter(addresses - {wa_id}), "")
    return contact_addresses_set(contact=keep, wa_id=wa_id, alias=alias, phone=person.phone)


def _mapping_refused(person: Person, chat: str, found: Sequence[Contact], phones: set[str]) -> Contact:
    """The contact of the chat the message came from, mapped to nobody else (made when there is none)."""
    logger.warning(
        "refused to join %s as one person with contacts %s: that would join the phone numbers %s "
        "or give a person a third address",
        " and ".join(person.addresses),
        ", ".join(str(contact.pk) for contact in found),
        ", ".join(sorted(phones)) or "(none)",
    )
    by_chat = sorted(
        (contact for contact in found if chat in (contact.wa_id, contact.alias)),
        key=lambda contact: contact.wa_id != chat,  # the one replies to the chat go to, first
    )
    if by_chat:
        return by_chat[0]
    phone = person.phone if chat == person.address else ""  # a phone id's own number, never a LID's
    return contact_create(wa_id=chat, phone=phone)


def _react(
    connection: Connection, ticket: Ticket, stored: list[Message], *, created: bool, flow: bool = True
) -> None:
    """What follows the new messages: the events, the webhooks, the greeting or the menu's answer
    (not for ``flow`` False: answers to the satisfaction question, whose "1" is no menu choice)."""
    if created:
        webhook_emit(connection=connection, event="ticket.created", payload=ticket_payload(ticket))
    for position, message in enumerate(stored):
        ticket_event(ticket=ticket, event_type="message.new", message=message.pk)
        if message.from_me:
            continue
        webhook_emit(
            connection=connection, event="message.received", payload=message_payload(message, new=True)
        )
        if not flow:
            continue
        if created and position == 0:  # the customer's first message made the ticket
            greet_new_ticket(ticket=ticket)
        else:
            route_answer(ticket=ticket, message=message)


def _message(connection: Connection, message: InboundMessage) -> Message:
    download = message.download
    stored = Message(
        connection=connection,
        wa_id=message.id,
        from_me=message.from_me,
        kind=message.kind,
        body=message.body,
        caption=message.caption,
        mimetype=(download and download.mimetype) or message.mimetype,
        filename=message.filename,
        size=download.size if download and download.size is not None else message.size,
        wa_timestamp=message.timestamp,
        status=Message.Status.SENT if message.from_me else Message.Status.RECEIVED,
    )
    if download and download.data is None:
        stored.error = download.error or in_helpdesk_language(
            gettext_noop("Not downloaded: %(size).1f MB is over the %(limit)g MB limit."),
            size=(download.size or 0) / 2**20,
            limit=settings.WHATSAPP_MAX_MEDIA_MB,
        )
    return stored


def media_filename(message: Message) -> str:
    """The received attachment's name on disk (tickets/media.py's ``stored_name``), keyed on WhatsApp's id."""
    assert message.wa_id is not None, "a received message has WhatsApp's id"
    return stored_name(
        filename=message.filename, mimetype=message.mimetype, key=message.wa_id.rsplit("_", 1)[-1]
    )


def ticket_for_contact(*, contact: Contact, connection: Connection) -> tuple[Ticket, bool]:
    """The contact's ticket on this connection: the one under way (``ticket_under_way``, reopened
    when it was closed), or a new one. (ticket, is new or reopened)"""
    under_way = ticket_under_way(contact=contact, connection=connection)
    if under_way is not None and under_way.status != Ticket.Status.CLOSED:
        return under_way, False
    ticket = _reopened(under_way) if under_way else _ticket_new(contact, connection)
    if under_way:
        ticket.reopen_count += 1
    ticket.save()
    if under_way:
        ticket_reopened(ticket=ticket)
    else:
        ticket_opened(ticket=ticket, at=ticket.created_at)
        webhook_emit(connection=connection, event="ticket.created", payload=ticket_payload(ticket))
    dashboard_changed()
    return ticket, True


def ticket_under_way(*, contact: Contact, connection: Connection) -> Ticket | None:
    """The conversation a message between the contact and this connection continues: their ticket
    not closed, or else the last one closed less than TICKET_REOPEN_WINDOW ago (which the message
    reopens). None: the message starts a new one."""
    current = (
        Ticket.objects.filter(contact=contact, connection=connection)
        .exclude(status=Ticket.Status.CLOSED)
        .first()
    )
    return current or _recently_closed(contact, connection)


def _recently_closed(contact: Contact, connection: Connection) -> Ticket | None:
    since = timezone.now() - timedelta(seconds=settings.TICKET_REOPEN_WINDOW)
    return (
        Ticket.objects.filter(
            contact=contact, connection=connection, status=Ticket.Status.CLOSED, closed_at__gte=since
        )
        .order_by("-closed_at")
        .first()
    )


def _reopened(ticket: Ticket) -> Ticket:
    """The closed ``ticket`` set to reopen (unsaved): its wait starts again."""
    ticket.status = Ticket.Status.OPEN if ticket.assignee_id else Ticket.Status.PENDING
    ticket.closed_at, ticket.closed_by, ticket.close_reason = None, None, ""
    ticket.waiting_since = timezone.now()
    return ticket


def _ticket_new(contact: Contact, connection: Connection) -> Ticket:
    """A new ticket (unsaved); with one queue on the connection, already in it."""
    queues = list(connection.queues.all()[:2])
    return Ticket(contact=contact, connection=connection, queue=queues[0] if len(queues) == 1 else None)


def _ticket_touch(ticket: Ticket, messages: list[Message], *, reopened: bool, unread: bool = True) -> None:
    """Count the messages in their ticket, in the same statement as a reopening, or the INSERT of a new one.

    The unread count is incremented in the database, so an agent reading the
    ticket at the same moment cannot lose a message from the count. ``unread``
    False: the messages are not counted unread (answers to the satisfaction
    question, in a ticket that stays closed).
    """
    received = 0
    newest = None if ticket.pk is None else ticket.last_message_at  # a new ticket's default is not a message
    for message in messages:
        at = message.wa_timestamp
        assert at is not None, "a received message has WhatsApp's time"
        if newest is None or at >= newest:
            ticket.last_message_at = newest = at
            ticket.last_message_preview = message.preview()
        side = "last_outbound_at" if message.from_me else "last_inbound_at"
        if getattr(ticket, side) is None or at > getattr(ticket, side):  # a late message is not the last
            setattr(ticket, side, at)
        received += unread and not message.from_me
    ticket.unread_count += received
    first_inbound = min((m.wa_timestamp for m in messages if not m.from_me and m.wa_timestamp), default=None)
    if ticket.pk is None:
        if first_inbound:  # the clock starts with the INSERT: no statement more
            first_inbound_set(ticket=ticket, at=first_inbound, queue=ticket.queue)
        ticket.save()
        ticket_opened(ticket=ticket, at=min(m.wa_timestamp for m in messages if m.wa_timestamp))
        return
    fields = {field: getattr(ticket, field) for field in TOUCHED}
    if first_inbound and ticket.first_inbound_at is None:  # rare: an agent wrote first
        started = first_inbound_set(ticket=ticket, at=first_inbound, queue=ticket.queue)
        fields.update({field: getattr(ticket, field) for field in started})
    if reopened:
        fields.update(
            status=ticket.status,
            closed_at=None,
            closed_by=None,
            close_reason="",
            waiting_since=ticket.waiting_since,
            reopen_count=F("reopen_count") + 1,
        )
        ticket.reopen_count += 1
    if received:
        fields["unread_count"] = F("unread_count") + received
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now(), **fields)
    if reopened:
        ticket_reopened(ticket=ticket)


def catch_up_from(*, connection: Connection, messages: Batch) -> Batch:
    """A chat's messages as WhatsApp lists them, from the first one not handled yet (neither stored nor
    kept as a dead letter) to the end: the catch-up stores those, in order. Not from the newest stored
    one: a message that failed before a crash is older than what a later session may have stored."""
    ids = [message.id for message in messages]
    handled = set(_stored(connection, messages).values_list("wa_id", flat=True))
    handled |= set(
        DeadLetter.objects.filter(connection=connection, wa_id__in=ids).values_list("wa_id", flat=True)
    )
    first = next((n for n, message in enumerate(messages) if message.id not in handled), len(messages))
    return messages[first:]


def chat_last_timestamp(*, connection: Connection, chat: str) -> float:
    """When the newest stored message of this chat was sent (0 when none): catch-up starts there."""
    newest = (
        Message.objects.filter(connection=connection, ticket__contact__wa_id=chat)
        .exclude(wa_timestamp=None)
        .order_by("-wa_timestamp")
        .values_list("wa_timestamp", flat=True)
        .first()
    )
    return newest.timestamp() if newest else 0.0
