"""Messages from WhatsApp into tickets: each stored exactly once, in its ticket.

The session calls ``message_ingest`` for every message the page reports, live
or fetched again after a reconnect, in the order WhatsApp gave them. A message
is unique by (connection, WhatsApp id) in the database, so a replay changes
nothing and announces nothing. Two first messages of one contact at the same
instant race for the one ticket that may be open; the loser's transaction is
retried and finds the winner's ticket.
"""

import mimetypes
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.services import contact_upsert
from helpdesk.realtime import TICKETS_GROUP, dashboard_changed, publish_on_commit
from tickets.models import Message, Ticket
from tickets.payloads import message_payload, ticket_payload
from tickets.routing import greet_new_ticket, route_answer
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit

ATTEMPTS = 3

# WhatsApp's message types (wa-js ``msg.type``) as our kinds.
KINDS = {
    "chat": Message.Kind.TEXT, "image": Message.Kind.IMAGE, "ptt": Message.Kind.AUDIO, "audio": Message.Kind.AUDIO,
    "video": Message.Kind.VIDEO, "document": Message.Kind.DOCUMENT, "sticker": Message.Kind.STICKER,
    "location": Message.Kind.LOCATION, "vcard": Message.Kind.CONTACT, "multi_vcard": Message.Kind.CONTACT,
}  # fmt: skip


def chat_of(message: dict) -> str:
    """The other party's WhatsApp id: the sender of what we received, the recipient of what we sent."""
    return message["to"] if message["fromMe"] else message["from"]


def accepts_chat(chat: str) -> bool:
    if chat.endswith("@broadcast"):  # status updates and broadcast lists
        return False
    return settings.WHATSAPP_ACCEPT_GROUPS or not chat.endswith("@g.us")


def message_is_new(*, connection: Connection, message: dict) -> bool:
    """Whether ``message`` still needs storing (the session checks before downloading media)."""
    return accepts_chat(chat_of(message)) and not Message.objects.filter(connection=connection, wa_id=message["id"]).exists()


def message_ingest(*, connection: Connection, message: dict, media: dict | None = None) -> Message | None:
    """Store ``message`` (the bridge's plain form) in its ticket; None when it was not new.

    ``media`` is what the session downloaded: ``{"mimetype", "size", "data"}``, with
    ``data`` (bytes) None when the file was over WHATSAPP_MAX_MEDIA_MB or could not
    be downloaded (then ``error`` says why). The message is stored either way.
    """
    chat = chat_of(message)
    if not accepts_chat(chat):
        return None
    for attempt in range(ATTEMPTS):
        if Message.objects.filter(connection=connection, wa_id=message["id"]).exists():
            return None
        try:
            with transaction.atomic():
                return _store(connection, chat, message, media)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    return None


def _store(connection: Connection, chat: str, message: dict, media: dict | None) -> Message:
    contact = contact_upsert(wa_id=chat, push_name="" if message["fromMe"] else message.get("notifyName", ""))
    ticket, is_new = ticket_for_contact(contact=contact, connection=connection)
    at = datetime.fromtimestamp(message["t"], UTC) if message.get("t") else timezone.now()
    kind = KINDS.get(message.get("type"), Message.Kind.TEXT)
    stored = Message(
        ticket=ticket, connection=connection, wa_id=message["id"], from_me=message["fromMe"], kind=kind,
        body=readable_body(kind, message), caption=message.get("caption") or "",
        mimetype=(media or {}).get("mimetype") or message.get("mimetype") or "",
        filename=message.get("filename") or "", size=(media or {}).get("size") or message.get("size"),
        wa_timestamp=at, status=Message.Status.SENT if message["fromMe"] else Message.Status.RECEIVED,
    )  # fmt: skip
    if media and media.get("data") is not None:
        stored.media.save(media_filename(stored), ContentFile(media["data"]), save=False)
    elif media:
        stored.error = media.get("error") or _("Not downloaded: %(size).1f MB is over the %(limit)g MB limit.") % {
            "size": media["size"] / 2**20, "limit": settings.WHATSAPP_MAX_MEDIA_MB,
        }  # fmt: skip
    stored.save()
    _ticket_touch(ticket, stored, at)
    if not stored.from_me:
        webhook_emit(connection=connection, event="message.received", payload=message_payload(stored))
        if is_new and ticket.status == Ticket.Status.PENDING and not ticket.messages.exclude(pk=stored.pk).exists():
            greet_new_ticket(ticket=ticket)
        else:
            route_answer(ticket=ticket, message=stored)
    publish_on_commit(group=TICKETS_GROUP, event_type="message.new",
                      payload={"ticket": ticket.pk, "message": stored.pk})  # fmt: skip
    if is_new:
        dashboard_changed()
    return stored


def readable_body(kind: str, message: dict) -> str:
    """Locations and contact cards as text an agent can read; everything else as sent."""
    if kind == Message.Kind.LOCATION and message.get("lat") is not None:
        return f"{message['lat']}, {message['lng']}"
    if kind == Message.Kind.CONTACT and message.get("vcard"):
        return message["vcard"]
    return message.get("body") or ""


def media_filename(message: Message) -> str:
    """The attachment's name on disk: its own, or one made from the message id and type."""
    if message.filename:
        return message.filename
    extension = mimetypes.guess_extension(message.mimetype.split(";")[0]) or ""
    return f"{message.wa_id.rsplit('_', 1)[-1]}{extension}"


def ticket_for_contact(*, contact, connection: Connection) -> tuple[Ticket, bool]:
    """The contact's ticket on this connection: the one not closed, or the last one reopened
    when it closed less than TICKET_REOPEN_WINDOW ago, or a new one. (ticket, is new or reopened)"""
    tickets = Ticket.objects.filter(contact=contact, connection=connection)
    current = tickets.exclude(status=Ticket.Status.CLOSED).first()
    if current:
        return current, False
    since = timezone.now() - timedelta(seconds=settings.TICKET_REOPEN_WINDOW)
    recent = tickets.filter(status=Ticket.Status.CLOSED, closed_at__gte=since).order_by("-closed_at").first()
    if recent:
        recent.status = Ticket.Status.OPEN if recent.assignee_id else Ticket.Status.PENDING
        recent.closed_at, recent.closed_by, recent.close_reason = None, None, ""
        recent.save(update_fields=["status", "closed_at", "closed_by", "close_reason", "updated_at"])
        return recent, True
    queues = list(connection.queues.all()[:2])
    queue = queues[0] if len(queues) == 1 else None  # one queue: routed at once
    ticket = Ticket.objects.create(contact=contact, connection=connection, queue=queue)
    webhook_emit(connection=connection, event="ticket.created", payload=ticket_payload(ticket))
    return ticket, True


def _ticket_touch(ticket: Ticket, message: Message, at: datetime) -> None:
    fields = ["updated_at"]
    if ticket.last_message_at is None or at >= ticket.last_message_at:
        ticket.last_message_at = at
        ticket.last_message_preview = (message.body or message.caption or message.filename or f"[{message.kind}]")[:255]
        fields += ["last_message_at", "last_message_preview"]
    if message.from_me:
        ticket.last_outbound_at = at
        fields.append("last_outbound_at")
    else:
        ticket.last_inbound_at = at
        ticket.unread_count += 1
        fields += ["last_inbound_at", "unread_count"]
    ticket.save(update_fields=fields)


def chat_last_timestamp(*, connection: Connection, chat: str) -> float:
    """When the newest stored message of this chat was sent (0 when none): catch-up starts there."""
    newest = (
        Message.objects.filter(connection=connection, ticket__contact__wa_id=chat)
        .exclude(wa_timestamp=None).order_by("-wa_timestamp").values_list("wa_timestamp", flat=True).first()
    )  # fmt: skip
    return newest.timestamp() if newest else 0.0
