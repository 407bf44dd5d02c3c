"""An agent reacts to a message, edits their own text or deletes their own message for everyone.

Each change is made on the helpdesk's copy at once, as WhatsApp Web shows it at once on the phone
that made it, and written as a ``MessageChange`` (``queued``) that the session makes on WhatsApp,
the way a queued reply goes out (tickets/outbound.py: ``changes_pending``). A change WhatsApp
refuses is marked failed and a line in the conversation tells the agents (``change_mark_failed``).
Every change announces ``message.changed`` to the ticket's open pages.

The rules are WhatsApp's own, applied before anything is queued so that the agent hears why at
once: only a message that went out (it has its WhatsApp id) can be changed; a reaction to any
message of the conversation, not to a note or a system line; an edit only of the agent's own text
within ``EDIT_WINDOW``; a deletion for everyone only of the agent's own message within
``DELETE_WINDOW``; nothing after the message was deleted. ``write_check`` refuses a blocked contact.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.realtime import session_wake
from tickets.models import ChangeKind, Message, MessageChange, MessageRevision, Reaction, Ticket
from tickets.realtime import ticket_event
from tickets.writing import ActionRefused, write_check

EDIT_WINDOW = timedelta(minutes=15)  # WhatsApp lets the sender edit a message for 15 minutes
DELETE_WINDOW = timedelta(hours=60)  # and delete it for everyone for about two and a half days
QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"]  # WhatsApp's quick set, offered by the page
EMOJI_MAX = 16  # characters: one emoji with its modifiers (skin tone, joiners), never a text


def message_react(*, message: Message, by: User, emoji: str) -> Message:
    """``by`` reacts to ``message`` with ``emoji`` for the helpdesk (one reaction of ours per message,
    a new one replaces it); ``""`` removes it. Removing a reaction we do not have changes nothing."""
    emoji = emoji.strip()
    if not reaction_valid(emoji):
        raise ActionRefused(_("A reaction is one emoji."))
    _changeable(message, by=by)
    ours = message.reactions.filter(from_me=True).first()
    if (ours.emoji if ours else "") == emoji:
        return message
    with transaction.atomic():
        if emoji:
            Reaction.objects.update_or_create(
                message=message,
                from_me=True,
                sender="",
                defaults={"emoji": emoji, "author": by, "at": timezone.now()},
            )
        else:
            Reaction.objects.filter(message=message, from_me=True).delete()
        _queue(message, by=by, kind=ChangeKind.REACTION, value=emoji)
    return message


def message_edit(*, message: Message, by: User, body: str) -> Message:
    """``by`` replaces the text of their own message; the earlier text is kept as a revision."""
    if not body.strip():
        raise ActionRefused(_("Write the new text of the message."))
    _changeable(message, by=by, own=True)
    if message.kind != Message.Kind.TEXT:
        raise ActionRefused(_("Only a text message can be edited."))
    if timezone.now() - sent_time(message) > EDIT_WINDOW:
        raise ActionRefused(_("A message can be edited for 15 minutes after it was sent."))
    if body == message.body:
        return message
    now = timezone.now()
    with transaction.atomic():
        MessageRevision.objects.create(message=message, body=message.body, replaced_at=now)
        message.body, message.edited_at = body, now
        message.save(update_fields=["body", "edited_at"])
        _queue(message, by=by, kind=ChangeKind.EDIT, value=body)
    return message


def message_delete(*, message: Message, by: User) -> Message:
    """``by`` deletes their own message for everyone: the customer's phone shows it deleted."""
    _changeable(message, by=by, own=True)
    if timezone.now() - sent_time(message) > DELETE_WINDOW:
        raise ActionRefused(_("A message can be deleted for everyone for 60 hours after it was sent."))
    with transaction.atomic():
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        _queue(message, by=by, kind=ChangeKind.DELETE)
    return message


def message_actions(*, message: Message, ticket: Ticket, user: User, now: datetime | None = None) -> set[str]:
    """What ``user`` may do to ``message`` of ``ticket`` now ("react", "edit", "delete"): the controls a
    page shows. Reads no row (the page has the ticket and its contact)."""
    if not _open_to_change(message) or ticket.contact.blocked:
        return set()
    allowed = {"react"}
    if message.from_me and message.author_id == user.pk:
        age = (now or timezone.now()) - sent_time(message)
        if message.kind == Message.Kind.TEXT and age <= EDIT_WINDOW:
            allowed.add("edit")
        if age <= DELETE_WINDOW:
            allowed.add("delete")
    return allowed


def reaction_valid(emoji: str) -> bool:
    """``""`` (no reaction) or one emoji: short, with no letter, digit or space."""
    return len(emoji) <= EMOJI_MAX and not any(ch.isalnum() or ch.isspace() for ch in emoji)


def sent_time(message: Message) -> datetime:
    """When the message went out, as WhatsApp counts its windows from (a scheduled one: its time)."""
    return max(message.created_at, message.send_at) if message.send_at else message.created_at


def _open_to_change(message: Message) -> bool:
    return (
        message.kind not in (Message.Kind.NOTE, Message.Kind.SYSTEM)
        and message.deleted_at is None
        and bool(message.wa_id)
    )


def _changeable(message: Message, *, by: User, own: bool = False) -> None:
    if message.kind in (Message.Kind.NOTE, Message.Kind.SYSTEM):
        raise ActionRefused(_("A note or a system line is not on WhatsApp: it cannot be changed there."))
    if message.deleted_at is not None:
        raise ActionRefused(_("This message was deleted."))
    if own and not (message.from_me and message.author_id == by.pk):
        raise ActionRefused(_("Only your own messages can be edited or deleted."))
    if not message.wa_id:
        raise ActionRefused(_("This message has not been sent yet."))
    write_check(user=by, contact=message.ticket.contact, ticket=message.ticket)


def _queue(message: Message, *, by: User, kind: ChangeKind, value: str = "") -> None:
    """Write the change for the session, wake it, and tell the ticket's pages (on commit)."""
    MessageChange.objects.create(
        message=message, connection_id=message.connection_id, kind=kind, value=value, author=by
    )
    session_wake(connection_id=message.connection_id)
    ticket_event(ticket=message.ticket, event_type="message.changed", message=message.pk)
