"""A session's messages: what the page hears goes to the helpdesk, what the helpdesk queued goes out.

In: messages heard live and those the catch-up finds after a (re)connect are stored
chat by chat in lanes (whatsapp/lanes.py), each lane's transactions in a thread of
``chat_threads`` with its own database connection, media downloaded first, the
contact's picture refreshed at most once a day. Out: the queued replies are sent
oldest first, once each, and WhatsApp's acknowledgements mark them. The session
(whatsapp/session.py) starts and ends this with each browser run; every write is
fenced by its lease.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop, ngettext_lazy
from playwright.async_api import Page

from contacts.services import contact_avatar_due, contact_avatar_set
from helpdesk.languages import in_helpdesk_language
from tickets.inbound import accepts_chat, catch_up_from, chat_last_timestamp, message_is_new
from tickets.message_changes import (
    Outcome,
    early_changes_apply,
    early_changes_waiting,
    message_change_ingest,
)
from tickets.outbound import (
    change_mark_failed,
    change_mark_sent,
    changes_pending,
    message_ack,
    message_mark_failed,
    message_mark_sent,
    outbound_file,
    outbound_pending,
    scheduled_promote,
)
from whatsapp import bridge, wire
from whatsapp.addresses import People
from whatsapp.dead_letters import DATABASE_AWAY, chat_batch_store
from whatsapp.lanes import ChatLanes, Item
from whatsapp.lease import LeaseLost, lease_fence, lease_fenced
from whatsapp.models import Connection
from whatsapp.session_db import SessionDatabase, db
from whatsapp.wire import (
    Download,
    InboundChange,
    InboundMessage,
    chat_id,
    download_failed,
    download_read,
    inbound_change,
    inbound_message,
)

logger = logging.getLogger(__name__)
Status = Connection.Status

AVATAR_RECHECK = 3600.0  # seconds before this session looks at a contact's picture date again
CATCH_UP_MESSAGES = 500  # per chat, newest first, when catching up after a reconnect
SENT_CHECK_MESSAGES = 50  # how far back a chat is searched for an earlier attempt of a message


class NotAcknowledged(Exception):
    """WhatsApp did not acknowledge a reply in time (SessionMessages._acknowledged)."""


class SessionMessages:
    def __init__(self, *, database: SessionDatabase, events: asyncio.Queue) -> None:
        self.database = database
        self.connection_id, self.owner = database.connection_id, database.owner
        self.events = events  # the session's: a batch that found the lease lost says so there
        self.page: Page | None = None
        self.avatars_checked: dict[str, float] = {}  # wa_id -> loop time of the last check
        # Who each chat is (its LID and phone, whatsapp/addresses.py), asked of the page once per chat.
        self.people = People(self._pn_lid_entry)
        # Chats are stored side by side (whatsapp/lanes.py), each lane's transactions in a
        # thread of this pool with its own database connection.
        self.lanes: ChatLanes | None = None
        self.chat_threads = ThreadPoolExecutor(settings.WHATSAPP_CHAT_CONCURRENCY, thread_name_prefix="chats")
        self.stored = 0  # messages stored by this session, for the catch-up's report
        self.storing: set[Future] = set()  # transactions running in chat_threads
        self.held: list[Item] | None = None  # see heard
        # Whether changes wait for messages not stored yet: asked once a run, then set by a change that waits,
        # so the messages' batches look for changes to apply only while some may wait.
        self.early_changes = True
        # Set once WhatsApp is found to have stopped answering in this run (stopped_answering).
        self.silent = asyncio.Event()
        self.next_due: float | None = None  # loop time the next scheduled reply comes due (send_queued)
        # Whether next_due is what the database said since the schedule last changed: while it is, a
        # look at the outbox reads the scheduled replies only once next_due has come.
        self.schedule_known = False
        self.log_extra = {"connection_id": database.connection_id}

    def start(self, page: Page, *, retry_delay: Callable[[int], float]) -> None:
        """A browser run begins on ``page``: new lanes; what is heard live is held until the catch-up."""
        self.page = page
        self.held = []  # heard live before this run's catch-up
        self.schedule_known = False  # what changed while no run was looking is read at its first look
        self.silent = asyncio.Event()
        self.lanes = ChatLanes(
            self._ingest_chat,
            concurrency=settings.WHATSAPP_CHAT_CONCURRENCY,
            retry_delay=retry_delay,
            failed=self._store_failed,
        )

    async def end(self) -> None:
        """The run ended: a message not stored yet is imported again by the next catch-up."""
        assert self.lanes is not None, "ended after it started"
        self.lanes.close()
        await self._stores_ended()

    # -- in ----------------------------------------------------------------------------

    async def catch_up(self) -> None:
        """Import what arrived while no session was looking (not only unread chats).

        A chat is read when its newest message is not older than its newest stored one; of
        its messages, in the chat's order, everything from the first one that is neither
        stored nor a dead letter goes to its lane (``catch_up_from``), so a batch that failed
        before a crash comes back even when it was not the newest. The messages heard live
        meanwhile follow (``heard``). A catch-up that fails raises: the run ends and the next
        one, after the backoff, catches up again, rather than store newer messages past a gap.
        """
        assert self.lanes is not None, "caught up while the browser runs"
        connection = await db(self.database.load)()
        if connection is None:  # deleted: nothing to import for it
            return
        stored_before = self.stored
        self.early_changes = await db(early_changes_waiting)(connection_id=self.connection_id)
        for chat in await bridge.bridge_call(self.page, "chats"):
            wa_id = chat_id(chat.get("id")) if isinstance(chat, dict) else ""
            if not wa_id or not accepts_chat(wa_id):
                continue
            since = await db(chat_last_timestamp)(connection=connection, chat=wa_id)
            if isinstance(chat.get("t"), int | float) and 0 < chat["t"] < since:
                continue
            payloads = await bridge.bridge_call(self.page, "messages", wa_id, CATCH_UP_MESSAGES)
            messages = [inbound_message(payload) for payload in payloads]
            for message in await db(catch_up_from)(connection=connection, messages=messages):
                self.lanes.put(wa_id, message)
            # Deleted or edited meanwhile: applied after the chat's messages (a change already made,
            # or heard live, changes nothing the second time).
            for change in filter(None, map(wire.history_change, payloads)):
                self.lanes.put(wa_id, change)
        held, self.held = self.held or [], None
        for message in held:
            self.lanes.put(message.chat, message)
        await self.lanes.drain()
        if imported := self.stored - stored_before:
            await db(self.database.log)(
                in_helpdesk_language(
                    ngettext_lazy(
                        "Imported %(count)d message that arrived while disconnected",
                        "Imported %(count)d messages that arrived while disconnected",
                        "count",
                    ),
                    count=imported,
                )
            )

    def heard(self, payload: dict) -> None:
        """A message heard live goes to its lane, once this run's catch-up has put what came before it:
        a page reports new messages before it is CONNECTED, and those must not overtake older ones."""
        assert self.lanes is not None, "heard while the browser runs"
        message = inbound_message(payload)  # what the page says is checked here, before anything reads it
        if not accepts_chat(message.chat):
            return
        if self.held is None:
            self.lanes.put(message.chat, message)
        else:
            self.held.append(message)

    def changed(self, event: str, payload: dict) -> None:
        """A message of a chat was edited, deleted or reacted to: the change goes to the chat's lane, after
        the messages heard before it (held, like them, until the catch-up)."""
        assert self.lanes is not None, "heard while the browser runs"
        change = inbound_change(event, payload)  # checked here, like a message
        if change is None:
            logger.info("a %s that names no message was ignored", event, extra=self.log_extra)
            return
        if not accepts_chat(change.chat):
            return
        if self.held is None:
            self.lanes.put(change.chat, change)
        else:
            self.held.append(change)

    async def _ingest_chat(self, chat: str, items: list[Item]) -> None:
        """A lane's batch: media downloaded first, then stored in one transaction.

        A message that cannot be stored becomes a dead letter and the batch goes on
        (whatsapp/dead_letters.py). Anything else (the database away) raises: the
        lane tries the batch again with backoff before anything after it in the chat.
        """
        messages = [item for item in items if isinstance(item, InboundMessage)]
        changes = [item for item in items if isinstance(item, InboundChange)]
        person = await self.people.person(chat)
        batch = [replace(message, person=person, download=await self._media(message)) for message in messages]
        try:
            stored = await self._in_chat_thread(chat, batch, changes)
        except LeaseLost:  # nothing of the batch was written, and no retry: the session stops
            self.events.put_nowait(("lease.lost", None))
            return
        self.stored += len(stored)
        if any(not message.from_me for message in stored):
            await self._refresh_avatar(person.address)  # the address the contact is kept under

    async def _pn_lid_entry(self, chat: str) -> object:
        return await bridge.wpp_call(self.page, "contact.getPnLidEntry", chat)

    def _store_failed(self, chat: str, error: Exception, failures: int) -> None:
        """A lane's batch was not stored: said in the worker's log only, the database may be what failed."""
        logger.warning(
            "storing a batch of %s failed (%d times in a row), trying again: %s",
            chat,
            failures,
            error,
            exc_info=failures == 1,
            extra=self.log_extra,
        )

    async def _in_chat_thread(
        self, chat: str, batch: list[InboundMessage], changes: list[InboundChange] | None = None
    ) -> list:
        """``_store_chat`` in a thread of ``chat_threads``, remembered until its transaction ends."""
        future = self.chat_threads.submit(self._store_chat, chat, batch, changes or [])
        self.storing.add(future)
        future.add_done_callback(self.storing.discard)
        return await asyncio.wrap_future(future)

    def _store_chat(
        self, chat: str, batch: list[InboundMessage], changes: list[InboundChange] | None = None
    ) -> list:
        """In a thread of ``chat_threads``: the batch's messages, then the changes heard with them (a
        change of a message of the batch finds it stored), then the changes that waited for these."""
        connection = self.database.load()
        if connection is None:
            return []
        with lease_fenced(connection_id=self.connection_id, owner=self.owner):
            stored = chat_batch_store(connection=connection, chat=chat, messages=batch) if batch else []
            if stored and self.early_changes:
                self._guarded(early_changes_apply, connection=connection, messages=stored)
            for change in changes or []:
                if self._change_apply(connection, change) == Outcome.WAITING:
                    self.early_changes = True
            return stored

    def _change_apply(self, connection: Connection, change: InboundChange) -> Outcome | None:
        return self._guarded(message_change_ingest, connection=connection, change=change)

    def _guarded(self, apply: Callable, **arguments):
        """Changes applied in a savepoint: ones that cannot be applied are logged and cost only themselves,
        never the messages stored with them (a batch that raised would be tried again for ever)."""
        try:
            with transaction.atomic():
                return apply(**arguments)
        except DATABASE_AWAY:
            raise
        except Exception:
            logger.exception("applying a change failed: %s", arguments.get("change"), extra=self.log_extra)
            return None

    async def _stores_ended(self) -> None:
        """Wait for the transactions of lanes just closed: a thread cannot be cancelled, and the next
        catch-up must not store a chat's later messages while an earlier batch may still commit."""
        if running := list(self.storing):
            await asyncio.wait([asyncio.wrap_future(future) for future in running])

    async def _media(self, message: InboundMessage) -> Download | None:
        """The message's file, downloaded only when the message is not stored yet."""
        if not message.is_media or not await db(message_is_new)(
            connection_id=self.connection_id, message=message
        ):
            return None
        limit = int(settings.WHATSAPP_MAX_MEDIA_MB * 2**20)
        try:
            return download_read(await bridge.bridge_call(self.page, "media", message.id, limit))
        except Exception as error:
            reason = in_helpdesk_language(gettext_noop("Not downloaded: %(error)s"), error=error)
            return download_failed(reason.splitlines()[0])

    async def _refresh_avatar(self, wa_id: str) -> None:
        """The contact's profile picture, asked of WhatsApp at most once a day, never per message.

        The session remembers whom it checked, so a busy chat costs no query per message.
        """
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self.avatars_checked.get(wa_id, float("-inf")) < AVATAR_RECHECK:
            return
        self.avatars_checked[wa_id] = loop_time
        if not await db(contact_avatar_due)(wa_id=wa_id):
            return
        try:
            url = await bridge.wpp_call(self.page, "contact.getProfilePictureUrl", wa_id)
        except Exception:
            url = ""  # no picture, or privacy settings hide it: try again tomorrow
        await db(self.database.fenced)(
            contact_avatar_set, wa_id=wa_id, url=url if isinstance(url, str) else ""
        )

    # -- out ---------------------------------------------------------------------------

    def schedule_changed(self) -> None:
        """The connection's scheduled replies changed (a wake says so: one was written or its time
        moved), or wakes may have been lost: the next look reads them again."""
        self.schedule_known = False

    async def send_queued(self) -> None:
        """Send the queued outbound messages, oldest first, once each, then the queued changes; the
        scheduled replies whose time has come are queued first, and ``next_due`` says when the next one
        comes due. The schedule is read only when that time has come or it changed (``schedule_known``):
        most looks (every heartbeat, every reply's wake) have nothing due, and each was a transaction of
        seven statements (tests/whatsapp/test_session_scheduled.py counts them)."""
        if await db(self.database.status)() != Status.CONNECTED:
            self.next_due, self.schedule_known = None, False
            return
        loop = asyncio.get_running_loop()
        if not self.schedule_known or (self.next_due is not None and loop.time() >= self.next_due):
            due_in = await db(self.database.fenced)(scheduled_promote, connection_id=self.connection_id)
            self.next_due = None if due_in is None else loop.time() + due_in + 0.05
            self.schedule_known = True
        for message in await db(outbound_pending)(connection_id=self.connection_id):
            await db(lease_fence)(connection_id=self.connection_id, owner=self.owner)  # no send without it
            try:
                sent, new = await self._acknowledged(message)
                if new and settings.WHATSAPP_TEST_PAUSE_AFTER_SEND:  # tests kill the worker here
                    await asyncio.sleep(settings.WHATSAPP_TEST_PAUSE_AFTER_SEND)
            except NotAcknowledged:
                return  # flagged; the session restarts its browser (the next run sends the rest)
            except Exception as error:
                reason = str(error).splitlines()[0]
                if await db(self.database.status)() != Status.CONNECTED or "offline" in reason:
                    return  # not the message's fault: it stays queued for the next connection
                await db(self.database.fenced)(message_mark_failed, message_id=message.id, error=reason)
                continue
            await db(self.database.fenced)(message_mark_sent, message_id=message.id, wa_id=sent)
        await self.send_changes()

    async def send_changes(self) -> None:
        """Make the agents' queued reactions, edits and deletions on WhatsApp, oldest first. A change
        made twice (the session died before marking it) is harmless: the same reaction, the same
        text, a message already deleted."""
        for change in await db(changes_pending)(connection_id=self.connection_id):
            await db(lease_fence)(connection_id=self.connection_id, owner=self.owner)
            try:
                function, arguments = wire.change_call(change)
                refusal = wire.change_refusal(
                    await bridge.wpp_call(self.page, function, *arguments), change=change
                )
            except Exception as error:
                refusal = str(error).splitlines()[0] if str(error) else type(error).__name__
                if await db(self.database.status)() != Status.CONNECTED or "offline" in refusal:
                    return  # not the change's fault: it stays queued for the next connection
            if refusal:
                await db(self.database.fenced)(change_mark_failed, change_id=change.id, error=refusal)
            else:
                await db(self.database.fenced)(change_mark_sent, change_id=change.id)

    async def _attempt(self, message: wire.OutboundMessage) -> tuple[str, bool]:
        """``message``'s WhatsApp id, and whether it was sent now: an earlier attempt found among the
        chat's latest messages is not sent again."""
        earlier = await bridge.bridge_call(self.page, "messages", message.chat, SENT_CHECK_MESSAGES)
        if (sent := wire.sent_before(earlier, message=message)) is not None:
            return sent, False
        return wire.sent_id(await self._send(message), message=message), True

    async def _acknowledged(self, message: wire.OutboundMessage) -> tuple[str, bool]:
        """``_attempt``, which WhatsApp answers once its server acknowledged the send (wa-js's
        ``waitForAck``). No answer within WHATSAPP_SEND_ACK_TIMEOUT, or WhatsApp found silent
        meanwhile (the probe, or this run given up while sending): the reply is flagged "not
        delivered" for the agent to retry (the retry first looks whether it went through after all)
        and the session is told WhatsApp stopped answering."""
        sending = asyncio.ensure_future(self._attempt(message))
        silent = asyncio.ensure_future(self.silent.wait())
        try:
            done, _pending = await asyncio.wait(
                {sending, silent},
                timeout=settings.WHATSAPP_SEND_ACK_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            if self.silent.is_set():  # the session gave the run up while this reply was out
                await self._not_acknowledged(message)
            raise
        finally:
            silent.cancel()
            if not sending.done():
                sending.cancel()
        if sending in done:
            return sending.result()
        await self._not_acknowledged(message)
        raise NotAcknowledged

    async def _not_acknowledged(self, message: wire.OutboundMessage) -> None:
        await db(self.database.fenced)(
            message_mark_failed,
            message_id=message.id,
            error=in_helpdesk_language(gettext_noop("Not delivered: WhatsApp did not acknowledge it")),
        )
        self.stopped_answering(reason="ack", seconds=settings.WHATSAPP_SEND_ACK_TIMEOUT)

    def stopped_answering(self, *, reason: str, seconds: float) -> None:
        """WhatsApp stopped answering (``reason``: "probe", the session's round trip; "ack", a reply):
        once per run, the session hears it as the ``whatsapp.silent`` event, and what waits on
        WhatsApp gives up (``silent``)."""
        if not self.silent.is_set():
            self.silent.set()
            self.events.put_nowait(("whatsapp.silent", {"reason": reason, "seconds": seconds}))

    async def _send(self, message: wire.OutboundMessage) -> object:
        content = await db(outbound_file)(media=message.media) if message.media else None
        function, arguments = wire.send_call(message, content)
        return await bridge.wpp_call(self.page, function, *arguments)

    async def acked(self, payload: dict) -> None:
        """WhatsApp's acknowledgement of messages (sent, delivered, read) marks them."""
        if (connection := await db(self.database.load)()) is not None:
            await db(self.database.fenced)(
                message_ack, connection=connection, wa_ids=payload["ids"], ack=payload["ack"]
            )
