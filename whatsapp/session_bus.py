"""A running session's side of the bus: orders and questions from the web reach it here.

The web never reaches the browser itself (it runs in a worker, perhaps on another
machine): it writes its orders to the database and wakes the session over the bus,
and asks its questions there with a reply channel (whatsapp/session_requests.py).
``bus_listen`` forwards both into the session's event queue; the watch loop hands each
question to ``bus_answer``, which answers it from the page.
"""

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable

from django.utils.translation import gettext_noop
from playwright.async_api import Page

from helpdesk.languages import in_helpdesk_language
from helpdesk.phones import phone_display
from helpdesk.realtime import channel_layer, session_group
from whatsapp import bridge, wire
from whatsapp.session_requests import REPLY_TIMEOUT

logger = logging.getLogger(__name__)


async def bus_listen(*, connection_id: int, events: asyncio.Queue) -> None:
    """Forward bus messages for this session into ``events``; retry if Redis is away."""
    layer = channel_layer()
    away = False
    while True:
        try:
            channel = await layer.new_channel()
            await layer.group_add(session_group(connection_id), channel)
            if away:  # wakes sent meanwhile were lost: the session looks at everything, its schedule too
                events.put_nowait(("wake", {"type": "session.wake", "schedule_changed": True}))
                away = False
            while True:
                message = await layer.receive(channel)
                kind = "session.request" if message.get("type") == "session.request" else "wake"
                events.put_nowait((kind, message))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the heartbeat keeps polling meanwhile
            away = True
            logger.warning("bus unavailable: %s", error, extra={"connection_id": connection_id})
            await asyncio.sleep(5)


async def bus_answer(*, page: Page | None, request: dict, log: Callable[[str], Awaitable[None]]) -> None:
    """Answer a question from the web on its reply channel; ``log`` writes to the connection's log."""
    reply: dict[str, object]
    try:
        assert page is not None, "requests are answered while the browser runs"
        if request["action"] == "snapshot":  # the page as it is: no new tab, no reload
            png = await page.screenshot(type="png", timeout=REPLY_TIMEOUT * 1000)  # no one waits longer
            reply = {"png": base64.b64encode(png).decode()}
        elif request["action"] == "exists":
            found = await bridge.wpp_call(page, "contact.queryExists", request["wa_id"])
            reply = {"wa_id": wire.exists_id(found)}
        elif request["action"] == "pairing_code":
            code = await bridge.wpp_call(page, "conn.genLinkDeviceCodeForPhoneNumber", request["phone"])
            await log(
                in_helpdesk_language(
                    gettext_noop("Pairing code requested for %(phone)s"),
                    phone=phone_display(request["phone"]),
                )
            )
            reply = {"code": code}
        elif request["action"] == "mark_read":
            await bridge.wpp_call(page, "chat.markIsRead", request["chat"])
            reply = {}
        else:
            reply = {"error": f"unknown request {request['action']}"}
    except Exception as error:
        reply = {"error": str(error).splitlines()[0]}
    if "reply_to" in request:  # a request nobody waits for (mark_read) has none
        await channel_layer().send(request["reply_to"], {"type": "session.reply", **reply})
