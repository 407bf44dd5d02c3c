"""Dead letters: a message that cannot be stored is kept aside, and the session goes on.

A lane stores its chat's batch in one transaction (tickets/inbound.py). When
that fails, the batch is stored again a message at a time, each in its own
transaction, so that one bad message costs only itself: the ones that still
fail are kept as dead letters (the page's payload, the error, the connection
and chat, when), the session is not restarted, and the messages after them are
stored. An admin reads them in the admin and retries once the cause is fixed.

A database that is away is not the message's fault: ``OperationalError`` and
``InterfaceError`` are raised as before, never turned into dead letters
(docs/decisions.md).
"""

import json
import logging
import math
import traceback
from dataclasses import replace

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language
from tickets.inbound import chat_messages_ingest
from tickets.message_changes import early_changes_apply
from tickets.models import Message
from whatsapp.models import Connection, ConnectionEvent, DeadLetter
from whatsapp.services import connection_log
from whatsapp.wire import InboundMessage, download_failed, inbound_message, text

logger = logging.getLogger(__name__)

DATABASE_AWAY = (OperationalError, InterfaceError)
PAYLOAD_MAX = 300_000  # characters of a dead letter's payload as JSON: a body of 65,536 fits, with room
PAYLOAD_STRING_MAX = 65_536  # characters of each string kept in a dead letter's payload
PAYLOAD_ITEMS_MAX = 100  # keys of an object, items of a list
PAYLOAD_DEPTH_MAX = 5
TRACEBACK_FRAMES = 5


def chat_batch_store(*, connection: Connection, chat: str, messages: list[InboundMessage]) -> list[Message]:
    """Store a lane's batch; a message that cannot be stored becomes a dead letter. Returns the new messages."""
    try:
        return chat_messages_ingest(connection=connection, chat=chat, messages=messages)
    except DATABASE_AWAY:
        raise
    except Exception:
        logger.warning(
            "a batch of %d failed: storing it message by message",
            len(messages),
            exc_info=True,
            extra={"connection_id": connection.pk},
        )
    stored = []
    for message in messages:
        try:
            stored += chat_messages_ingest(connection=connection, chat=chat, messages=[message])
        except DATABASE_AWAY:
            raise
        except Exception as error:
            dead_letter_create(connection=connection, message=message, error=error)
    return stored


def dead_letter_create(*, connection: Connection, message: InboundMessage, error: Exception) -> DeadLetter:
    """Keep ``message`` aside with what went wrong, and say so in the connection's log."""
    with transaction.atomic():
        letter = DeadLetter.objects.create(
            connection=connection,
            chat=message.chat,
            wa_id=message.id,
            payload=payload_kept(message.raw),
            **_error_fields(error),
        )
        connection_log(
            connection=connection,
            kind=ConnectionEvent.Kind.ERROR,
            data={"dead_letter": letter.pk},
            message=in_helpdesk_language(
                gettext_noop("A message could not be stored and was kept as dead letter %(id)d: %(error)s"),
                id=letter.pk,
                error=(text(str(error), 200).splitlines() or [type(error).__name__])[0],
            ),
        )
    return letter


def dead_letter_retry(*, dead_letter: DeadLetter) -> bool:
    """Store the dead letter's message again, as the session would; True once it is stored (now or before).

    Its file was not kept, so a media message is stored with a line saying so.
    A message stored since (by the catch-up, or an earlier retry) only marks the
    letter resolved: a message is stored once whatever happens.
    """
    message = inbound_message(dead_letter.payload)
    if message.is_media:
        reason = in_helpdesk_language(
            gettext_noop("Not downloaded: the file was not kept with the dead letter.")
        )
        message = replace(message, download=download_failed(reason))
    connection = dead_letter.connection
    error = None
    try:
        with transaction.atomic():
            stored = chat_messages_ingest(connection=connection, chat=message.chat, messages=[message])
            early_changes_apply(connection=connection, messages=stored)  # heard while it was a dead letter
    except DATABASE_AWAY:
        raise
    except Exception as failure:
        error = failure
    resolved = Message.objects.filter(connection=connection, wa_id=message.id).exists()
    fields = {"retried_at": timezone.now(), "resolved": resolved}
    if error is not None and not resolved:
        fields.update(_error_fields(error))
    DeadLetter.objects.filter(pk=dead_letter.pk).update(**fields)
    return resolved


def _error_fields(error: Exception) -> dict:
    """The error's type, message and last frames, as a dead letter keeps them."""
    frames = traceback.format_exception(error, limit=-TRACEBACK_FRAMES)
    return {
        "error_type": f"{type(error).__module__}.{type(error).__qualname__}"[:200],
        "error": text("".join(frames), 20_000),
    }


def payload_kept(payload):
    """The payload to keep: every part bounded (``payload_bounded``), and the whole within PAYLOAD_MAX,
    else only the start of its JSON (then a retry cannot read it, but an admin can)."""
    bounded = payload_bounded(payload)
    dumped = json.dumps(bounded, ensure_ascii=False)
    return bounded if len(dumped) <= PAYLOAD_MAX else {"truncated": dumped[:PAYLOAD_MAX]}


def payload_bounded(value, depth: int = 0):
    """The payload as JSON both databases accept: strings cut and without NUL, no NaN, no 200-digit
    numbers, at most PAYLOAD_ITEMS_MAX items and PAYLOAD_DEPTH_MAX levels."""
    if value is None or isinstance(value, bool | str):
        return text(value, PAYLOAD_STRING_MAX) if isinstance(value, str) else value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)[:100]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= PAYLOAD_DEPTH_MAX or not isinstance(value, dict | list | tuple):
        return text(repr(value), 1000)
    if isinstance(value, dict):
        items = list(value.items())[:PAYLOAD_ITEMS_MAX]
        return {text(str(key), 200): payload_bounded(item, depth + 1) for key, item in items}
    return [payload_bounded(item, depth + 1) for item in value[:PAYLOAD_ITEMS_MAX]]
