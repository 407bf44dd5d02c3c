"""Messages from agents to customers: written first, sent by the session, never twice.

``message_send`` only writes the message (``queued``) and wakes the session
that holds the connection; the session sends what is queued, in order, when it
is connected, and records the result. What it is handed is the provider's
typed ``OutboundMessage`` (``outbound_pending``: the chat, the text, the file,
the quoted message's WhatsApp id), never a ``Message``: turning it into a
WhatsApp call is whatsapp/wire.py's job, and the results come back by the
row's id (``message_mark_sent``, ``message_mark_failed``). The row's id also
makes the message's WhatsApp id, so after a reconnect the session can see
whether an earlier attempt went through before it tries again, and the ingest
recognises the reply when it hears it back (``echoes_claim``): the reply's own
row is marked sent, no second row is stored. A reply scheduled for later (tickets/scheduling.py)
joins the outbox when its time comes: the session's ``scheduled_promote`` queues it.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import session_wake
from tickets.media import CheckedMedia, stored_name
from tickets.milestones import response_recorded
from tickets.models import ChangeKind, Message, MessageChange, Ticket
from tickets.payloads import message_payload
from tickets.realtime import ticket_event
from tickets.system_lines import system_line_record
from tickets.writing import contact_receives
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit
from whatsapp.wire import OutboundChange, OutboundMedia, OutboundMessage

UNSENT = [Message.Status.QUEUED, Message.Status.FAILED]
ACK_STATUS = {2: Message.Status.DELIVERED, 3: Message.Status.READ, 4: Message.Status.READ}
STATUS_ORDER = [Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ]


def message_send(
    *,
    ticket: Ticket,
    author: User | None,
    body: str = "",
    media: CheckedMedia | None = None,
    quoted: Message | None = None,
    voice: bool = False,
    send_at: datetime | None = None,
) -> Message:
    """Queue a text, or a file (checked by ``media_check``) with ``body`` as its caption; the session sends it.
    ``send_at``: scheduled, queued when that time comes (tickets/scheduling.py); the session is woken
    all the same, to learn when to look again."""
    with transaction.atomic():
        message = Message(
            ticket=ticket,
            connection=ticket.connection,
            from_me=True,
            author=author,
            quoted=quoted,
            kind=media.kind if media else Message.Kind.TEXT,
            body="" if media else body,
            caption=body if media else "",
            status=Message.Status.SCHEDULED if send_at else Message.Status.QUEUED,
            send_at=send_at,
            voice=voice,
        )
        if media:
            message.mimetype, message.filename, message.size = media.mimetype, media.filename, len(media.data)
            message.save()  # the file's path uses the message's id
            name = stored_name(filename=media.filename, mimetype=media.mimetype, key=str(message.pk))
            message.media.save(name, ContentFile(media.data), save=True)
        else:
            message.save()
        if send_at is None:
            response_recorded(ticket=ticket, message=message)
        session_wake(connection_id=ticket.connection_id, schedule_changed=send_at is not None)
        _announce(message, "message.new")
    return message


def note_add(*, ticket: Ticket, author: User | None, body: str) -> Message:
    """An internal note: shown to agents with the conversation, never sent."""
    with transaction.atomic():
        return unsent_line_add(ticket=ticket, author=author, kind=Message.Kind.NOTE, body=body)


def unsent_line_add(
    *, ticket: Ticket, author: User | None, kind: Message.Kind, body: str = "", event: dict | None = None
) -> Message:
    """A line of the conversation that only agents read (a note, a system line): stored as done,
    so the outbox never picks it up, and announced to the pages on commit. A system line's
    ``event`` is its text too, in the helpdesk's language, for the API and the search."""
    line = Message.objects.create(
        ticket=ticket,
        connection_id=ticket.connection_id,
        from_me=True,
        author=author,
        kind=kind,
        body=system_line_record(event) if event else body,
        event=event,
        status=Message.Status.SENT,
    )
    _announce(line, "message.new")
    return line


def scheduled_promote(*, connection_id: int) -> float | None:
    """The session's call, at each look at the outbox: the connection's scheduled replies whose time
    has come become QUEUED, as if written now (their place in the conversation, the ticket's last
    message once sent). One whose ticket was closed meanwhile still goes, and a line says so; one to a
    contact blocked meanwhile fails with the reason. Returns the seconds until the next one's time
    (None: no other is scheduled), so the session looks again then."""
    now = timezone.now()
    with transaction.atomic():
        due = (
            Message.objects.filter(
                connection_id=connection_id, status=Message.Status.SCHEDULED, send_at__lte=now
            )
            .select_related("ticket__contact", "author")
            .order_by("send_at", "id")
        )
        blocked = in_helpdesk_language(gettext_noop("The contact was blocked before its time came."))
        for message in due:
            receives = contact_receives(contact=message.ticket.contact)
            promoted = Message.objects.filter(pk=message.pk, status=Message.Status.SCHEDULED).update(
                status=Message.Status.QUEUED if receives else Message.Status.FAILED,
                created_at=now,
                error="" if receives else blocked,
            )
            if not promoted:  # cancelled or changed meanwhile
                continue
            message.status = Message.Status.QUEUED if receives else Message.Status.FAILED
            if receives:
                message.created_at = now
                response_recorded(ticket=message.ticket, message=message)
            if message.ticket.status == Ticket.Status.CLOSED and receives:
                author = message.author
                unsent_line_add(
                    ticket=message.ticket,
                    author=None,
                    kind=Message.Kind.SYSTEM,
                    event={
                        "event": "scheduled_after_close",
                        "agent": author and (author.get_full_name() or author.get_username()),
                    },
                )
            ticket_event(
                ticket=message.ticket, event_type="message.new", message=message.pk, status=message.status
            )
    following = Message.objects.filter(
        connection_id=connection_id, status=Message.Status.SCHEDULED
    ).aggregate(next=Min("send_at"))["next"]
    return None if following is None else max(0.0, (following - timezone.now()).total_seconds())


def outbound_pending(*, connection_id: int) -> list[OutboundMessage]:
    """The connection's messages waiting to be sent, oldest first, as the session sends them."""
    queued = (
        Message.objects.filter(connection_id=connection_id, status=Message.Status.QUEUED, from_me=True)
        .exclude(kind__in=[Message.Kind.NOTE, Message.Kind.SYSTEM])
        .select_related("ticket__contact", "quoted")
        .order_by("id")
    )
    return [_outbound(message) for message in queued]


def _outbound(message: Message) -> OutboundMessage:
    media = None
    if message.media:
        media = OutboundMedia(
            path=str(message.media.name),
            kind=message.kind,
            mimetype=message.mimetype,
            filename=message.filename,
            voice=message.voice,
        )
    return OutboundMessage(
        id=message.pk,
        chat=message.ticket.contact.wa_id,
        body=message.caption if media else message.body,
        quoted_id=(message.quoted.wa_id or "") if message.quoted else "",
        media=media,
    )


def outbound_file(*, media: OutboundMedia) -> bytes:
    """The content of an outbound message's file, from the storage its message keeps it in."""
    with Message._meta.get_field("media").storage.open(media.path, "rb") as handle:
        return handle.read()


def echoes_claim(*, connection: Connection, echoes: list[tuple[str, int]]) -> set[str]:
    """Our replies heard back from WhatsApp, as (WhatsApp id, row id): each row not marked sent yet is
    marked now. Returns the WhatsApp ids that belong to a reply of ours, which the ingest then never
    stores as a message of their own (the session may have died between the send and the mark)."""
    rows = dict(
        Message.objects.filter(
            connection=connection, from_me=True, pk__in=[row for _wa_id, row in echoes]
        ).values_list("pk", "status")
    )
    claimed = set()
    for wa_id, pk in echoes:
        if pk not in rows:
            continue
        claimed.add(wa_id)
        if rows[pk] in UNSENT:
            message_mark_sent(message_id=pk, wa_id=wa_id)
    return claimed


def message_mark_sent(*, message_id: int, wa_id: str) -> None:
    """WhatsApp took the message as ``wa_id``: it counts as the ticket's last answer. Once only,
    whoever sees it first (the send, or the ingest hearing the echo).

    An echo that an earlier version stored as a message of its own holds ``wa_id``: it gives
    way to the row it echoes, so the unique (connection, WhatsApp id) can never fail here.
    """
    with transaction.atomic():
        message = Message.objects.select_related("ticket", "connection").filter(pk=message_id).first()
        if message is None:  # deleted with its ticket while it was being sent
            return
        Message.objects.filter(
            connection_id=message.connection_id, wa_id=wa_id, from_me=True, author=None
        ).exclude(pk=message.pk).delete()
        marked = Message.objects.filter(pk=message.pk, status__in=UNSENT).update(
            wa_id=wa_id, status=Message.Status.SENT, error=""
        )
        if not marked:  # the echo, or an earlier attempt, marked it already
            return
        message.wa_id, message.status, message.error = wa_id, Message.Status.SENT, ""
        Ticket.objects.filter(pk=message.ticket_id).update(
            last_outbound_at=message.created_at,
            last_message_at=message.created_at,
            last_message_preview=message.preview(),
        )
        _announce(message)
        webhook_emit(connection=message.connection, event="message.sent", payload=message_payload(message))


def message_mark_failed(*, message_id: int, error: str) -> None:
    """A reply WhatsApp refused; never one already marked sent (its echo may have been heard meanwhile)."""
    with transaction.atomic():
        if not Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(
            status=Message.Status.FAILED, error=error
        ):
            return  # marked sent meanwhile, or deleted with its ticket
        message = Message.objects.select_related("ticket").get(pk=message_id)
        _announce(message)


def message_ack(*, connection: Connection, wa_ids: list[str], ack: int) -> int:
    """WhatsApp says our messages were delivered (2) or read (3); a status never goes back."""
    if ack < 0:
        return Message.objects.filter(connection=connection, wa_id__in=wa_ids).update(
            status=Message.Status.FAILED,
            error=in_helpdesk_language(gettext_noop("WhatsApp refused the message")),
        )
    status = ACK_STATUS.get(ack)
    if status is None:
        return 0
    earlier = STATUS_ORDER[: STATUS_ORDER.index(status)]
    changed = 0
    with transaction.atomic():
        behind = Message.objects.filter(connection=connection, wa_id__in=wa_ids, status__in=earlier)
        for message in behind.select_related("ticket"):
            message.status = status
            message.save(update_fields=["status"])
            _announce(message)
            webhook_emit(connection=connection, event="message.ack", payload=message_payload(message))
            changed += 1
    return changed


def changes_pending(*, connection_id: int) -> list[OutboundChange]:
    """The connection's reactions, edits and deletions waiting to be made on WhatsApp, oldest first
    (tickets/message_actions.py writes them)."""
    queued = (
        MessageChange.objects.filter(connection_id=connection_id, status=MessageChange.Status.QUEUED)
        .select_related("message__ticket__contact")
        .order_by("id")
    )
    return [
        OutboundChange(
            id=change.pk,
            chat=change.message.ticket.contact.wa_id,
            target=change.message.wa_id or "",
            kind=change.kind,
            value=change.value,
        )
        for change in queued
    ]


def change_mark_sent(*, change_id: int) -> None:
    """WhatsApp made the change."""
    MessageChange.objects.filter(pk=change_id, status=MessageChange.Status.QUEUED).update(
        status=MessageChange.Status.SENT, error="", sent_at=timezone.now()
    )


# The line each refused change leaves in the conversation (tickets/system_lines.py's LINES).
CHANGE_FAILED: dict[str, str] = {
    ChangeKind.REACTION: "reaction_failed",
    ChangeKind.EDIT: "edit_failed",
    ChangeKind.DELETE: "delete_failed",
}


def change_mark_failed(*, change_id: int, error: str) -> None:
    """WhatsApp refused the change: it is marked failed and a line in the conversation tells the
    agents (the helpdesk's copy keeps the change, as the agent made it)."""
    with transaction.atomic():
        if not MessageChange.objects.filter(pk=change_id, status=MessageChange.Status.QUEUED).update(
            status=MessageChange.Status.FAILED, error=error
        ):
            return  # made meanwhile, or deleted with its ticket
        change = MessageChange.objects.select_related("message__ticket", "author").get(pk=change_id)
        event = CHANGE_FAILED[change.kind]
        if change.kind == ChangeKind.REACTION and not change.value:
            event = "unreaction_failed"
        author = change.author
        unsent_line_add(
            ticket=change.message.ticket,
            author=author,
            kind=Message.Kind.SYSTEM,
            event={
                "event": event,
                "agent": author and (author.get_full_name() or author.get_username()),
                "emoji": change.value,
                "error": error,
            },
        )


def _announce(message: Message, event_type: str = "message.status") -> None:
    ticket_event(ticket=message.ticket, event_type=event_type, message=message.pk, status=message.status)
