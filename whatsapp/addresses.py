"""A person's WhatsApp addresses: the phone's id (``<phone>@c.us``) and the LID (``<digits>@lid``).

WhatsApp now writes from many customers' LID instead of their phone's id, and may hide
the phone altogether. The session asks the page who a chat is
(``WPP.contact.getPnLidEntry``, read by whatsapp/wire.py) once per chat and keeps the
answer (``People``), so the ingest does not ask WhatsApp for every message; the
messages then carry a ``Person`` (the address replies go to, the other one, the phone
or "" when hidden) and tickets/inbound.py finds the contact by either address. The
domain never reads the ``@lid`` syntax: ``lid_of`` tells the API which address is the LID.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from whatsapp.wire import LID, PHONE_ID, Person, person_from_pn_lid_entry, person_of

logger = logging.getLogger(__name__)

UNMAPPED_RECHECK = 600.0  # seconds before a chat WhatsApp told no mapping for is asked about again


def lid_of(*addresses: str | None) -> str | None:
    """The LID among a contact's addresses (``"<digits>@lid"``), or None."""
    return next((address for address in addresses if address and LID.fullmatch(address)), None)


def is_person_address(chat: str) -> bool:
    """Whether a chat's id is a person's (a phone id or a LID), the ids WhatsApp maps to each other."""
    return bool(PHONE_ID.fullmatch(chat) or LID.fullmatch(chat))


class People:
    """Who each chat is, as a session learned it: ``ask(chat)`` answers ``getPnLidEntry``'s payload.

    A mapping (LID and phone) is kept for the session's life; a chat with none (a hidden
    phone, a phone id whose LID WhatsApp does not say, an error) is asked about again after
    ``UNMAPPED_RECHECK`` seconds, so a mapping WhatsApp reveals later is learned.
    """

    def __init__(self, ask: Callable[[str], Awaitable[Any]], *, clock: Callable[[], float] = time.monotonic):
        self.ask = ask
        self.clock = clock
        self.known: dict[str, tuple[Person, float]] = {}  # chat -> (who, when asked)
        self.asked = 0  # calls to the page, for tests and the bench

    async def person(self, chat: str) -> Person:
        cached = self.known.get(chat)
        if cached and (cached[0].alias or self.clock() - cached[1] < UNMAPPED_RECHECK):
            return cached[0]
        if not is_person_address(chat):  # a group, a broadcast: nothing to map
            return person_of(chat)
        self.asked += 1
        try:
            reply = await self.ask(chat)
        except Exception as error:  # an id WhatsApp does not know, a page without the function
            logger.info(
                "WhatsApp did not say who %s is: %s",
                chat,
                str(error).splitlines()[0] if str(error) else error,
            )
            reply = None
        person = person_from_pn_lid_entry(reply, asked=chat)
        self.known[chat] = (person, self.clock())
        return person
