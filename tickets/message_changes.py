"""A message changed after it was written, on the channel: edited, deleted for everyone, reacted to.

The session hands each change to ``message_change_ingest`` in the chat's lane, after the chat's
messages heard before it (whatsapp/lanes.py), as an ``InboundChange``: read, checked and cut by
whatsapp/wire.py. None of them adds a message, reopens or makes a ticket, or counts as unread:

- an edit keeps the text it replaces as a ``MessageRevision`` and marks the message edited;
- a deletion marks the message deleted: its text and file are served to nobody from then on
  (the page, the API, the webhooks, the media URL), and blanked at once, or after
  DELETED_CONTENT_KEEP_DAYS for teams that must keep them (``deleted_content_prune``);
- a reaction is one per party and message: a new one replaces it, an empty one removes it.

A change is applied only to a message of its own chat and connection, an edit or deletion only by
the side that wrote the message: anything else (a customer "deleting" the agent's reply, a change
naming another chat's message) is ignored with a log line. A change naming a message not stored
yet waits as an ``EarlyChange`` and is applied when that message arrives (``early_changes_apply``).
Each applied change is announced (``message.changed``) to the ticket's viewers and the webhook.
"""

import logging
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from tickets.models import ChangeKind, EarlyChange, Message, MessageRevision, Reaction, Ticket
from tickets.payloads import message_payload
from tickets.realtime import ticket_event
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit
from whatsapp.wire import InboundChange

logger = logging.getLogger(__name__)

EARLY_CHANGE_KEEP = timedelta(days=1)  # a change whose message never came is forgotten after this
# What a ticket's row says when its last message was deleted (stored: in the helpdesk's language).
DELETED_PREVIEW = gettext_noop("This message was deleted")
BATCH = 1000


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # already so (our own change heard back), or refused (logged)
    WAITING = "waiting"  # for its message, not stored yet


def message_change_ingest(*, connection: Connection, change: InboundChange) -> Outcome:
    """Apply ``change`` to its message. A change of a message not stored yet is kept until it
    arrives (``early_changes_apply``); one that may not apply is ignored (logged)."""
    with transaction.atomic():
        message = (
            Message.objects.select_related("ticket__contact", "connection")
            .select_for_update(of=("self",))
            .filter(connection=connection, wa_id=change.target)
            .first()
        )
        if message is None:
            EarlyChange.objects.create(
                connection=connection,
                target=change.target,
                kind=change.kind,
                value=change.value,
                sender=change.chat if not change.from_me else "",
                at=change.timestamp,
            )
            logger.info(
                "a %s of message %s, not stored yet, waits for it",
                change.kind,
                change.target,
                extra={"connection_id": connection.pk},
            )
            return Outcome.WAITING
        return Outcome.APPLIED if _apply(message, change) else Outcome.UNCHANGED


def early_changes_waiting(*, connection_id: int) -> bool:
    """Whether changes of this connection wait for their messages (a session asks once a run)."""
    return EarlyChange.objects.filter(connection_id=connection_id).exists()


def early_changes_apply(*, connection: Connection, messages: list[Message]) -> int:
    """The changes heard before these just-stored messages, applied now in the order heard; how many applied."""
    wa_ids = [message.wa_id for message in messages if message.wa_id]
    if not wa_ids:
        return 0
    applied = 0
    with transaction.atomic():
        early = list(
            EarlyChange.objects.filter(connection=connection, target__in=wa_ids).order_by("at", "id")
        )
        if not early:
            return 0
        EarlyChange.objects.filter(pk__in=[change.pk for change in early]).delete()
        by_id = {
            message.wa_id: message
            for message in Message.objects.select_related("ticket__contact", "connection").filter(
                connection=connection, wa_id__in={change.target for change in early}
            )
        }
        for waiting in early:
            if (message := by_id.get(waiting.target)) is None:
                continue
            change = InboundChange(
                chat=waiting.sender or _address(message),  # ours ("" sender): made in the message's own chat
                target=waiting.target,
                kind=waiting.kind,
                value=waiting.value,
                sender=waiting.sender,
                timestamp=waiting.at,
                from_me=not waiting.sender,
            )
            applied += _apply(message, change)
    return applied


def _address(message: Message) -> str:
    return message.ticket.contact.wa_id


def _apply(message: Message, change: InboundChange) -> bool:
    refused = _refusal(message, change)
    if refused:
        logger.warning(
            "a %s of message %s ignored: %s",
            change.kind,
            change.target,
            refused,
            extra={"connection_id": message.connection_id},
        )
        return False
    if change.kind == ChangeKind.EDIT:
        changed = _edit(message, change)
    elif change.kind == ChangeKind.DELETE:
        changed = _delete(message, change)
    else:
        changed = _react(message, change)
    if changed:
        message_changed_announce(message=message)
    return changed


def _refusal(message: Message, change: InboundChange) -> str:
    """Why ``change`` may not touch ``message`` ("" when it may)."""
    contact = message.ticket.contact
    if change.chat not in (contact.wa_id, contact.alias):
        return "the message is of another chat"
    if message.kind in (Message.Kind.NOTE, Message.Kind.SYSTEM):
        return "the message was never sent"
    if change.kind in (ChangeKind.EDIT, ChangeKind.DELETE) and change.from_me != message.from_me:
        return "only its author edits or deletes a message"
    if change.kind == ChangeKind.EDIT and message.deleted_at:
        return "the message was deleted"
    return ""


def _edit(message: Message, change: InboundChange) -> bool:
    field = "caption" if message.caption or (message.media and not message.body) else "body"
    old = getattr(message, field)
    if change.value == old:  # our own edit heard back, or the same text again
        return False
    MessageRevision.objects.create(message=message, body=old, replaced_at=change.timestamp)
    ticket = message.ticket
    was_last = (
        ticket.last_message_preview == message.preview() and ticket.last_message_at == message.wa_timestamp
    )
    setattr(message, field, change.value)
    message.edited_at = change.timestamp
    message.save(update_fields=[field, "edited_at"])
    if was_last:  # the inbox shows the new text, as WhatsApp's chat list does (docs/decisions.md)
        _preview_set(ticket, message.preview())
    return True


def _delete(message: Message, change: InboundChange) -> bool:
    if message.deleted_at:
        return False
    ticket = message.ticket
    was_last = (
        ticket.last_message_preview == message.preview() and ticket.last_message_at == message.wa_timestamp
    )
    message.deleted_at = change.timestamp
    message.save(update_fields=["deleted_at"])
    if settings.DELETED_CONTENT_KEEP_DAYS <= 0:
        message_content_blank(message=message)
    if was_last:
        _preview_set(ticket, in_helpdesk_language(DELETED_PREVIEW))
    return True


def _react(message: Message, change: InboundChange) -> bool:
    mine = Reaction.objects.filter(message=message, from_me=change.from_me, sender=change.sender)
    if not change.value:
        return mine.delete()[0] > 0
    current = mine.first()
    if current is not None and current.emoji == change.value:
        return False
    if current is None:
        Reaction.objects.create(
            message=message,
            from_me=change.from_me,
            sender=change.sender,
            emoji=change.value,
            at=change.timestamp,
        )
    else:
        mine.update(emoji=change.value, at=change.timestamp)
    return True


def _preview_set(ticket: Ticket, preview: str) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(last_message_preview=preview[:255], updated_at=timezone.now())


def message_changed_announce(*, message: Message) -> None:
    """Tell the ticket's open pages (they redraw that one bubble) and the webhook, on commit."""
    ticket = message.ticket
    ticket_event(ticket=ticket, event_type="message.changed", message=message.pk)
    webhook_emit(connection=message.connection, event="message.changed", payload=message_payload(message))


def message_content_blank(*, message: Message) -> None:
    """Forget a deleted message's content: its text, its earlier versions, its file (removed once committed)."""
    name = message.media.name
    Message.objects.filter(pk=message.pk).update(body="", caption="", filename="", media="", mimetype="")
    MessageRevision.objects.filter(message=message).delete()
    message.body = message.caption = message.filename = message.mimetype = ""
    message.media.name = ""
    if name:
        storage = message.media.storage
        transaction.on_commit(lambda: storage.delete(name), robust=True)


def deleted_content_prune() -> dict[str, int]:
    """The pruning task's part: the content of messages deleted more than DELETED_CONTENT_KEEP_DAYS ago
    blanked; the changes that waited a day for a message that never came, forgotten."""
    now = timezone.now()
    before = now - timedelta(days=max(settings.DELETED_CONTENT_KEEP_DAYS, 0))
    kept = Message.objects.filter(deleted_at__lt=before).filter(
        ~Q(body="") | ~Q(caption="") | ~Q(media="") | Q(revisions__isnull=False)
    )
    blanked = 0
    while messages := list(kept.order_by().distinct()[:BATCH]):
        for message in messages:
            with transaction.atomic():
                message_content_blank(message=message)
        blanked += len(messages)
    early, _ = EarlyChange.objects.filter(at__lt=now - EARLY_CHANGE_KEEP).delete()
    return {"deleted contents": blanked, "early changes": early}
