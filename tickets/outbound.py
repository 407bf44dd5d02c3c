"""Messages from agents to customers: written first, sent by the session, never twice.

``message_send`` only writes the message (``queued``) and wakes the session
that holds the connection; the session sends what is queued, in order, when it
is connected (``outbound_pending``), and records the result. Each message is
sent with a WhatsApp id derived from its row (``client_message_id``), so after a
reconnect the session can see whether an earlier attempt went through before
it tries again, and the ingest recognises the reply when it hears it back
(``echoes_claim``): the reply's own row is marked sent, no second row is stored.
"""

import re

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet

from helpdesk.realtime import session_wake
from tickets.media import CheckedMedia
from tickets.models import Message, Ticket
from tickets.payloads import message_payload
from tickets.realtime import ticket_event
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit

CLIENT_ID = re.compile(r"_3EB0([0-9A-F]{16})$")  # the end of a WhatsApp id made by client_message_id
UNSENT = [Message.Status.QUEUED, Message.Status.FAILED]
ACK_STATUS = {2: Message.Status.DELIVERED, 3: Message.Status.READ, 4: Message.Status.READ}
STATUS_ORDER = [Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ]


def client_message_id(message: Message) -> str:
    """The id we ask WhatsApp to give the message: hex, like WhatsApp Web's own, and fixed per row."""
    return f"3EB0{message.pk:016X}"


def message_send(
    *,
    ticket: Ticket,
    author,
    body: str = "",
    media: CheckedMedia | None = None,
    quoted: Message | None = None,
    voice: bool = False,
) -> Message:
    """Queue a text, or a file (checked by ``media_check``) with ``body`` as its caption; the session sends it."""
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
            status=Message.Status.QUEUED,
            voice=voice,
        )
        if media:
            message.mimetype, message.filename, message.size = media.mimetype, media.filename, len(media.data)
            message.save()  # the file's path uses the message's id
            message.media.save(media.filename, ContentFile(media.data), save=True)
        else:
            message.save()
        session_wake(connection_id=ticket.connection_id)
        _announce(message, "message.new")
    return message


def note_add(*, ticket: Ticket, author, body: str) -> Message:
    """An internal note: shown to agents with the conversation, never sent."""
    with transaction.atomic():
        note = Message.objects.create(
            ticket=ticket,
            connection=ticket.connection,
            from_me=True,
            author=author,
            kind=Message.Kind.NOTE,
            body=body,
            status=Message.Status.SENT,
        )
        _announce(note, "message.new")
    return note


def outbound_pending(*, connection_id: int) -> QuerySet[Message]:
    return (
        Message.objects.filter(connection_id=connection_id, status=Message.Status.QUEUED, from_me=True)
        .exclude(kind__in=[Message.Kind.NOTE, Message.Kind.SYSTEM])
        .select_related("ticket__contact", "quoted")
        .order_by("id")
    )


def client_message_row(wa_id: str) -> int | None:
    """The id of the row a message of ours was sent for, read from its WhatsApp id; None for any other id."""
    match = CLIENT_ID.search(wa_id)
    return int(match.group(1), 16) if match else None


def echoes_claim(*, connection: Connection, echoes: list[tuple[str, int]]) -> set[str]:
    """Our replies heard back from WhatsApp, as (WhatsApp id, row id): each row not marked sent yet is
    marked now. Returns the WhatsApp ids that belong to a reply of ours, which the ingest then never
    stores as a message of their own (the session may have died between the send and the mark)."""
    rows = Message.objects.filter(
        connection=connection, from_me=True, pk__in=[row for _wa_id, row in echoes]
    ).select_related("ticket", "connection")
    by_pk = {row.pk: row for row in rows}
    claimed = set()
    for wa_id, pk in echoes:
        row = by_pk.get(pk)
        if row is None:
            continue
        claimed.add(wa_id)
        if row.status in UNSENT:
            message_mark_sent(message=row, wa_id=wa_id)
    return claimed


def message_mark_sent(*, message: Message, wa_id: str) -> None:
    """Record that WhatsApp accepted ``message`` as ``wa_id``; once only, whoever sees it first
    (the send, or the ingest hearing the echo).

    An echo that an earlier version stored as a message of its own holds ``wa_id``: it gives
    way to the row it echoes, so the unique (connection, WhatsApp id) can never fail here.
    """
    with transaction.atomic():
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


def message_mark_failed(*, message: Message, error: str) -> None:
    """A reply WhatsApp refused; never one already marked sent (its echo may have been heard meanwhile)."""
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
            status=Message.Status.FAILED, error=error
        ):
            return
        message.status, message.error = Message.Status.FAILED, error
        _announce(message)


def message_ack(*, connection: Connection, wa_ids: list[str], ack: int) -> int:
    """WhatsApp says our messages were delivered (2) or read (3); a status never goes back."""
    if ack < 0:
        return Message.objects.filter(connection=connection, wa_id__in=wa_ids).update(
            status=Message.Status.FAILED, error="WhatsApp refused the message"
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


def _announce(message: Message, event_type: str = "message.status") -> None:
    ticket_event(ticket=message.ticket, event_type=event_type, message=message.pk, status=message.status)
