"""Questions the web asks a running session, answered over the bus (snapshot, pairing code).

The web process cannot reach the browser itself: it lives in a worker,
perhaps on another machine. The question goes to the session's group with a
reply channel; no answer within the timeout means no session is running.
"""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from whatsapp.session import session_group


class SessionUnavailable(Exception):
    """No running session answered: the connection is not started, or its worker is away."""


def session_ask(*, connection_id: int, action: str, timeout: float = 15.0, **arguments) -> dict:
    return async_to_sync(_ask)(connection_id, action, timeout, arguments)


async def _ask(connection_id: int, action: str, timeout: float, arguments: dict) -> dict:
    layer = get_channel_layer()
    reply_to = await layer.new_channel()
    request = {"type": "session.request", "action": action, "reply_to": reply_to, **arguments}
    await layer.group_send(session_group(connection_id), request)
    try:
        answer = await asyncio.wait_for(layer.receive(reply_to), timeout=timeout)
    except TimeoutError:
        raise SessionUnavailable from None
    if "error" in answer:
        raise SessionUnavailable(answer["error"])
    return answer
