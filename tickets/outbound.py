"""Messages from agents to customers: written first, sent by the session, never twice.

``message_send`` only writes the message (``queued``) and wakes the session
that holds the connection; the session sends what is queued, in order, when it
is connected (``outbound_pending``), and records the result. Each message is
sent with a WhatsApp id derived from its row (``client_message_id``), so after a
reconnect the session can see whether an earlier attempt went through before
it tries again.
"""

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import session_wake
from tickets.media import CheckedMedia
from tickets.models import Message, Ticket
from tickets.payloads import message_payload
from tickets.realtime import ticket_event
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit

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


def message_mark_sent(*, message: Message, wa_id: str) -> None:
    with transaction.atomic():
        message.wa_id, message.status, message.error = wa_id, Message.Status.SENT, ""
        message.save(update_fields=["wa_id", "status", "error"])
        Ticket.objects.filter(pk=message.ticket_id).update(
            last_outbound_at=message.created_at,
            last_message_at=message.created_at,
            last_message_preview=message.preview(),
        )
        _announce(message)
        webhook_emit(connection=message.connection, event="message.sent", payload=message_payload(message))


def message_mark_failed(*, message: Message, error: str) -> None:
    with transaction.atomic():
        message.status, message.error = Message.Status.FAILED, error
        message.save(update_fields=["status", "error"])
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


def _announce(message: Message, event_type: str = "message.status") -> None:
    ticket_event(ticket=message.ticket, event_type=event_type, message=message.pk, status=message.status)
