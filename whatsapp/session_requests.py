"""Questions the web asks a running session, answered over the bus (snapshot, pairing code).

The web process cannot reach the browser itself: it lives in a worker,
perhaps on another machine. The question goes to the session's group with a
reply channel; no answer within the timeout means no session is running.
"""

import asyncio
import base64

from asgiref.sync import async_to_sync
from django.conf import settings
from redis.exceptions import RedisError

from helpdesk.realtime import channel_layer, session_group
from whatsapp.models import Connection
from whatsapp.numbers import phone_address


class SessionUnavailable(Exception):
    """No running session answered: the connection is not started, or its worker is away."""


class BusUnavailable(Exception):
    """The bus (Redis) refused or did not answer the question in time: nothing was asked."""


Status = Connection.Status

# The states in which a session has its page up and can answer; in any other (stopped, starting,
# logged out, failed) a question is answered "not ready" at once, not after the timeout: a starting
# browser has no page yet, and a stopped one no worker listening.
READY = {Status.QR, Status.CONNECTED, Status.DISCONNECTED}

# Seconds a running session has to answer: it does so in well under one, and a client (a page, an
# API call) gets its answer, or "not ready", within 2 s (docs/decisions.md, "The JSON API").
REPLY_TIMEOUT = 1.5


def session_snapshot(*, connection_id: int) -> bytes:
    """A PNG of the page the session has open (no new tab, no reload)."""
    return base64.b64decode(_ask_sync(connection_id, "snapshot", {})["png"])


def session_number_resolve(*, connection_id: int, phone: str) -> str | None:
    """The address WhatsApp uses for the phone number ``phone`` (E.164 digits), asked through the
    connection's session: a Brazilian mobile typed without its ninth digit answers the address with
    it (or the other way round, for an account WhatsApp still knows by the old form). None: the
    number has no WhatsApp."""
    return _ask_sync(connection_id, "exists", {"wa_id": phone_address(phone)})["wa_id"]


def session_pairing_code(*, connection_id: int, phone: str) -> str:
    """The code the phone types to link itself, instead of scanning a QR code."""
    return _ask_sync(connection_id, "pairing_code", {"phone": phone})["code"]


def _ask_sync(connection_id: int, action: str, arguments: dict) -> dict:
    status = Connection.objects.filter(pk=connection_id).values_list("status", flat=True).first()
    if status not in READY:
        raise SessionUnavailable
    return async_to_sync(_ask)(connection_id, action, REPLY_TIMEOUT, arguments)


async def _ask(connection_id: int, action: str, timeout: float, arguments: dict) -> dict:
    layer = channel_layer()
    reply_to = await layer.new_channel()
    request = {"type": "session.request", "action": action, "reply_to": reply_to, **arguments}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout(min(settings.REALTIME_PUBLISH_TIMEOUT, timeout)):
            await layer.group_send(session_group(connection_id), request)
    except (TimeoutError, RedisError, OSError):
        raise BusUnavailable from None
    try:
        answer = await asyncio.wait_for(layer.receive(reply_to), timeout=max(0.0, deadline - loop.time()))
    except TimeoutError:
        raise SessionUnavailable from None
    if "error" in answer:
        raise SessionUnavailable(answer["error"])
    return answer
