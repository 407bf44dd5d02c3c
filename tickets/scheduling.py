"""Replies sent later: written now (``scheduled``), queued when their time comes, sent by the outbox.

An agent's reply with a ``send_at`` is written by the same door as any reply (``ticket_reply``,
``write_check``), with the status SCHEDULED: the outbox never sees it, and it is neither the
ticket's last message nor its preview. The session that holds the connection promotes it at its
time (the outbox's ``scheduled_promote``, tickets/outbound.py): it becomes QUEUED, as if written
then, and goes out through the outbox's exactly-once machinery. A session that was down promotes
what came due meanwhile as soon as it is back. Until then an agent may change its text or time
(``scheduled_edit``) or cancel it (``scheduled_cancel``: the row goes, nothing was sent).
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.realtime import session_wake
from tickets.models import Message
from tickets.realtime import ticket_event
from tickets.selectors import tickets_visible_to
from tickets.text import with_signature, without_signature
from tickets.writing import ActionRefused, write_check

SCHEDULE_HORIZON = timedelta(days=365)  # the furthest a reply may be scheduled


def send_at_parse(text: str) -> datetime:
    """A time as the API takes it: ISO 8601 text with its offset (``2026-12-07T15:00:00-03:00``,
    ``...Z``). ValidationError (on ``send_at``) for anything else, a time without a zone included."""
    try:
        when = datetime.fromisoformat(text.strip()) if isinstance(text, str) else None
    except ValueError:
        when = None
    if when is None:
        raise ValidationError(
            {
                "send_at": _(
                    "send_at must be a time in ISO 8601 with its offset, e.g. 2026-12-07T15:00:00-03:00."
                )
            }
        )
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValidationError({"send_at": _("send_at needs its time zone offset, e.g. -03:00 or Z.")})
    return when


def send_at_check(send_at: datetime) -> None:
    """ValidationError (on ``send_at``) unless ``send_at`` is ahead of now and at most a year ahead."""
    if timezone.is_naive(send_at):
        raise ValidationError({"send_at": _("send_at needs its time zone offset, e.g. -03:00 or Z.")})
    now = timezone.now()
    if send_at <= now:
        raise ValidationError({"send_at": _("The time to send it has passed: choose a time ahead.")})
    if send_at > now + SCHEDULE_HORIZON:
        raise ValidationError({"send_at": _("A message can be scheduled at most a year ahead.")})


def scheduled_messages(*, ticket) -> list[Message]:
    """The ticket's replies waiting for their time, the next one first (shown below the conversation)."""
    return list(
        ticket.messages.filter(status=Message.Status.SCHEDULED)
        .select_related("author")
        .order_by("send_at", "id")
    )


def scheduled_edit(
    *, message: Message, by: User, body: str | None = None, send_at: datetime | None = None
) -> Message:
    """``by`` changes a scheduled reply's text (a file's caption) and/or its time (``send_at_check``);
    None leaves either as it is. A signed reply stays signed (the new text under the same name).
    Refused (ActionRefused) once it has gone, or as ``write_check`` refuses a reply."""
    _still_scheduled(message)
    write_check(user=by, contact=message.ticket.contact, ticket=message.ticket)
    changes: dict = {}
    if body is not None:
        if not body.strip() and not message.media:
            raise ValidationError({"body": _("Write a message.")})
        author = message.author
        if not message.media and author and without_signature(body=message.body, by=author) != message.body:
            body = with_signature(body=without_signature(body=body, by=author), by=author)  # still signed
        changes["caption" if message.media else "body"] = body
    if send_at is not None:
        send_at_check(send_at)
        changes["send_at"] = send_at
    if not changes:
        return message
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, status=Message.Status.SCHEDULED).update(**changes):
            raise ActionRefused(_("This message has gone out already: it can no longer be changed."))
        for field, value in changes.items():
            setattr(message, field, value)
        session_wake(  # a new time: the session reads its schedule again
            connection_id=message.connection_id, schedule_changed="send_at" in changes
        )
        ticket_event(
            ticket=message.ticket, event_type="message.changed", message=message.pk, status=message.status
        )
    return message


def scheduled_cancel(*, message: Message, by: User) -> Message:
    """``by`` cancels a scheduled reply: its row (and file) go, nothing is sent. Returns the message
    as it was, ``deleted_at`` now. Anyone who sees the ticket may cancel, even to a contact blocked
    since (cancelling writes to nobody). Refused (ActionRefused) once it has gone."""
    _still_scheduled(message)
    if not tickets_visible_to(user=by).filter(pk=message.ticket_id).exists():
        raise ActionRefused(_("This message has gone out already: it can no longer be changed."))
    with transaction.atomic():
        deleted, _rows = Message.objects.filter(pk=message.pk, status=Message.Status.SCHEDULED).delete()
        if not deleted:
            raise ActionRefused(_("This message has gone out already: it can no longer be changed."))
        if message.media:
            storage, name = message.media.storage, str(message.media.name)
            transaction.on_commit(lambda: storage.delete(name))
        ticket_event(ticket=message.ticket, event_type="message.changed", message=message.pk)
    message.deleted_at = timezone.now()
    return message


def _still_scheduled(message: Message) -> None:
    if message.status != Message.Status.SCHEDULED:
        raise ActionRefused(_("This message has gone out already: it can no longer be changed."))
