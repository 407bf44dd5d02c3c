"""One WhatsApp session: the life of a connection's browser, run inside a worker.

``Session.run`` holds the connection's lease for as long as it runs. It starts
Chromium on the connection's profile, opens WhatsApp Web with the bridge, and
turns what the page reports into state transitions (design, section 3):

    STOPPED → STARTING → QR → CONNECTED
                 ↑          ↘ DISCONNECTED (reconnects with backoff) → CONNECTED
                 └── browser crashed / page did not load (restarts with backoff)
    LOGGED_OUT: the phone removed the device; the profile is wiped.
    FAILED: the browser cannot start, or the attempts ran out.

Everything it needs to know from outside (stop, restart, log out, deleted)
is in the database; the bus only wakes it sooner, and the heartbeat polls.

The lease is renewed by a task of its own (``_keep_lease``), whatever the session
is busy with, and every write of the session is fenced by it (whatsapp/lease.py):
a session that lost its lease writes nothing more and ends with ``lease_lost``.

This module keeps the session's life: start, watch, heartbeat, stop. Its other jobs
have rooms of their own: the messages in and out (whatsapp/session_messages.py), the
bus (whatsapp/session_bus.py), its database side (whatsapp/session_db.py), and what
each event means for the connection's row (the services of whatsapp/services.py).
"""

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy
from playwright.async_api import BrowserContext, Page, async_playwright

from helpdesk.languages import in_helpdesk_language
from helpdesk.realtime import Publisher
from whatsapp import bridge, wire
from whatsapp.browser import (
    BrowserLaunchError,
    browser_close,
    browser_kill,
    browser_launch,
    browser_memory_bytes,
)
from whatsapp.lease import (
    LeaseLost,
    lease_acquire,
    lease_fence,
    lease_owner_id,
    lease_renew,
)
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.outcomes import Outcome
from whatsapp.profile_archive import archive_build, profile_digest
from whatsapp.profiles import profile_mark_used, profile_path, profile_prepare, profile_was_logged_in
from whatsapp.saved_logins import saved_login_due, saved_login_restore, saved_login_store, saved_logins_delete
from whatsapp.services import (
    connection_command_done,
    connection_connected,
    connection_heartbeat,
    connection_qr_expired,
    connection_qr_shown,
    connection_session_ended,
    connection_went_offline,
)
from whatsapp.session_bus import bus_answer, bus_listen
from whatsapp.session_db import SessionDatabase, db
from whatsapp.session_messages import SessionMessages

logger = logging.getLogger(__name__)
Status = Connection.Status
T = TypeVar("T")


def session_run(connection_id: int) -> str:
    """The django-q task (sessions cluster): drive the connection's browser until it stops."""
    close_old_connections()
    outcome = asyncio.run(Session(connection_id).run())
    logger.info("session ended: %s", outcome, extra={"connection_id": connection_id})
    return outcome.value


def stalled_session_leaves_within() -> float:
    """The longest, in seconds, a session whose WhatsApp stopped answering stays CONNECTED.

    Two checks run beside the watch loop, and the first to see it ends the run: the probe, a
    round trip to WhatsApp's servers started a heartbeat after the last one answered, given up
    after WHATSAPP_PROBE_TIMEOUT; and each reply, whose send answers once WhatsApp's server
    acknowledged it, given up after WHATSAPP_SEND_ACK_TIMEOUT. The probe may be answered from the
    page's own cache on real WhatsApp Web (docs/decisions.md), so the bound is the later of both.
    """
    probe = settings.WHATSAPP_HEARTBEAT + settings.WHATSAPP_PROBE_TIMEOUT
    return max(probe, settings.WHATSAPP_SEND_ACK_TIMEOUT)


def backoff_delay(attempt: int) -> float:
    """1 s doubling to WHATSAPP_BACKOFF_MAX, each delay drawn between half and all of it (jitter)."""
    ceiling = min(settings.WHATSAPP_BACKOFF_MAX, settings.WHATSAPP_BACKOFF_BASE * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


# The login kept centrally: seconds after CONNECTED until the first save (Chromium writes Local Storage
# to disk up to 5 s after a change), until the second, and until a failed save is tried again.
LOGIN_SETTLES = 6.0
SECOND_SAVE_AFTER = 30.0
SAVE_RETRY = 30.0

# A worker is asked to stop with SIGINT (django-q2 passes it to its workers' group)
# or SIGTERM; the session then closes its browser and leaves the lease for the next worker.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Session:
    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id
        self.owner = lease_owner_id()
        self.events: asyncio.Queue = asyncio.Queue()
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self.profile: Path | None = None
        self.attempts = 0  # consecutive runs that ended badly; reset once CONNECTED for WHATSAPP_STABLE_AFTER
        self.connected_at: float | None = None  # loop time this run became CONNECTED, until it went offline
        self.restoring = False  # this run started on a profile that was logged in
        self.me = ""  # the account's own WhatsApp id, once logged in
        self.has_login = False  # the profile holds a login that worked in this session: worth saving
        self.save_at: float | None = None  # loop time the login is saved next (while CONNECTED)
        self.saves = 0  # saves since this run became CONNECTED
        self.live = False  # CONNECTED in this run and online: the probe asks WhatsApp's servers
        self.database = SessionDatabase(connection_id=connection_id, owner=self.owner)
        self.messages = SessionMessages(database=self.database, events=self.events)
        # The lease is renewed in a thread (and database connection) of its own, so that
        # no query of the session's work, however long, can hold a renewal up.
        self.lease_thread = ThreadPoolExecutor(1, thread_name_prefix="lease")
        self.worker_stopping = False
        self.log_extra = {"connection_id": connection_id}

    # -- the whole life ------------------------------------------------------------

    async def run(self) -> Outcome:
        if not await db(lease_acquire)(connection_id=self.connection_id, owner=self.owner):
            logger.info("session already held by another worker", extra=self.log_extra)
            return Outcome.HELD_ELSEWHERE
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._worker_stop)
        listener = loop.create_task(bus_listen(connection_id=self.connection_id, events=self.events))
        keeper = loop.create_task(self._keep_lease())
        publisher = Publisher()
        outcome = Outcome.FAILED
        try:
            async with async_playwright() as playwright:
                outcome = await self._supervise(playwright)
        except LeaseLost as lost:  # a fenced write found the lease gone: nothing was written
            logger.warning("lease lost: %s", lost, extra=self.log_extra)
            outcome = Outcome.LEASE_LOST
        except Exception:
            logger.exception("session crashed", extra=self.log_extra)
            outcome = Outcome.CRASHED
        finally:
            listener.cancel()
            await self._close_browser()
            if outcome in (Outcome.STOP, Outcome.WORKER_STOPPING) and self.has_login:
                # A graceful stop: the login saved before the lease is let go, so the worker that takes
                # the connection next, here or on another machine, logs in without a QR. After the
                # close, not before: the closed browser has written all of its profile to disk.
                await self._save_login()
            keeper.cancel()  # renewed until the browser is closed: no other session starts on it before
            await db(self._finish)(outcome)
            await publisher.close()
            self.messages.chat_threads.shutdown()  # waits for a transaction still running
            self.lease_thread.shutdown(cancel_futures=True)
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        return outcome

    async def _supervise(self, playwright) -> Outcome:
        while True:
            try:
                outcome = await self._run_once(playwright)
            except Exception as error:  # a bug, or the database away: a restart with backoff, never at once
                if await self._logged_out_meanwhile():
                    await self._close_browser()
                    return Outcome.LOGGED_OUT
                logger.exception("session run failed", extra=self.log_extra)
                failed = in_helpdesk_language(gettext_noop("The session failed: %(error)s"), error=error)
                await self._log_if_possible(failed.splitlines()[0])
                outcome = Outcome.RETRY
            await self._close_browser()
            if outcome == Outcome.RESTART:
                continue
            if outcome != Outcome.RETRY:
                return outcome
            if ended := await self._back_off():
                return ended

    async def _run_once(self, playwright) -> Outcome:
        connection = await db(self.database.load)()
        if connection is None:
            return Outcome.DELETED
        if self.worker_stopping:
            return Outcome.WORKER_STOPPING
        if not connection.enabled:
            return Outcome.STOP
        self.connected_at = None
        return await self._run_browser(playwright, connection)

    async def _logged_out_meanwhile(self, *, within: float = 1.0) -> bool:
        """After a run that failed: whether the page says, within a moment, that the phone logged it out.
        A page call made as the phone removes the device fails ("not logged in") and can reach us before
        the page's own logout event; that run ended in a logout, not a failure to retry from a QR."""
        if self.page is None:
            return False
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        heard = []
        try:
            while (left := until - loop.time()) > 0:
                try:
                    name, payload = await asyncio.wait_for(self.events.get(), timeout=left)
                except TimeoutError:
                    return False
                if name == "conn.logout":
                    return True
                heard.append((name, payload))
            return False
        finally:
            for event in heard:  # the worker's stop or a lost lease is still read by the next run
                self.events.put_nowait(event)

    async def _back_off(self) -> Outcome | None:
        """After a run that ended badly: FAILED once the attempts ran out, else wait 1 s doubling."""
        self.attempts += 1
        if self.attempts > settings.WHATSAPP_MAX_ATTEMPTS:
            await db(self.database.transition)(
                Status.FAILED,
                in_helpdesk_language(
                    ngettext_lazy(
                        "Gave up after %(count)d attempt", "Gave up after %(count)d attempts", "count"
                    ),
                    count=settings.WHATSAPP_MAX_ATTEMPTS,
                ),
                enabled=False,
            )
            return Outcome.FAILED
        delay = backoff_delay(self.attempts)
        try:
            await db(self.database.transition)(
                Status.DISCONNECTED,
                in_helpdesk_language(
                    gettext_noop("Restarting in %(seconds).0f s (attempt %(attempt)d of %(attempts)d)"),
                    seconds=delay,
                    attempt=self.attempts,
                    attempts=settings.WHATSAPP_MAX_ATTEMPTS,
                ),
                reconnect_attempts=self.attempts,
                data={"metric": "reconnect"},
            )
        except Exception:  # the database away: the wait is what matters
            logger.warning("restart not recorded", exc_info=True, extra=self.log_extra)
        await self._sleep(delay)
        return None

    def _note_stable(self, now: float) -> None:
        """CONNECTED for WHATSAPP_STABLE_AFTER: the next failure is a new one, its attempts count from 1."""
        if self.connected_at is not None and now - self.connected_at >= settings.WHATSAPP_STABLE_AFTER:
            self.attempts, self.connected_at = 0, None

    async def _log_if_possible(self, message: str) -> None:
        try:
            await db(self.database.log)(message, ConnectionEvent.Kind.ERROR)
        except Exception:
            logger.warning("not written to the connection's log: %s", message, extra=self.log_extra)

    # -- one browser run -------------------------------------------------------------

    async def _run_browser(self, playwright, connection: Connection) -> Outcome:
        # Checked before the profile is touched: a session that lost its lease would kill the
        # browser of the session that took over.
        await db(lease_fence)(connection_id=self.connection_id, owner=self.owner)
        self.profile, reset_reason = await db(profile_prepare)(connection_id=self.connection_id)
        if reset_reason:
            await db(self.database.log)(
                in_helpdesk_language(
                    gettext_noop("Saved login discarded (%(reason)s); a new QR code is needed"),
                    reason=reset_reason,
                )
            )
        leftovers = browser_kill(profile=self.profile)
        if leftovers:
            await db(self.database.log)(
                in_helpdesk_language(
                    ngettext_lazy(
                        "Killed %(count)d browser process left by an earlier run",
                        "Killed %(count)d browser processes left by an earlier run",
                        "count",
                    ),
                    count=leftovers,
                )
            )
        await self._restore_login()
        self.restoring = await db(profile_was_logged_in)(connection_id=self.connection_id)
        await db(self.database.transition)(
            Status.STARTING,
            in_helpdesk_language(gettext_noop("Starting the browser")),
            qr_attempts=0,
            qr_code="",
            data={"metric": "session_start"},
        )
        try:
            self.context = await browser_launch(playwright, profile=self.profile)
        except BrowserLaunchError as error:
            await db(self.database.transition)(
                Status.FAILED,
                str(error),
                last_error=str(error),
                enabled=False,
                data={"metric": "launch_failure"},
            )
            return Outcome.FAILED
        context = self.context

        def gone(_) -> None:
            if context is self.context:  # not a close we asked for
                self.events.put_nowait(("browser.closed", None))

        context.on("close", gone)
        await context.expose_binding(
            bridge.BINDING, lambda _source, name, payload: self.events.put_nowait((name, payload))
        )
        for script in bridge.init_scripts():
            await context.add_init_script(script)
        self.page = context.pages[0] if context.pages else await context.new_page()
        self.page.on("crash", gone)
        try:
            await self.page.goto(settings.WHATSAPP_WEB_URL, timeout=settings.WHATSAPP_AUTH_TIMEOUT * 1000)
        except Exception as error:
            not_loaded = in_helpdesk_language(
                gettext_noop("WhatsApp Web did not load: %(error)s"), error=error
            )
            await db(self.database.log)(not_loaded.splitlines()[0], ConnectionEvent.Kind.ERROR)
            return Outcome.RETRY
        self.messages.start(self.page, retry_delay=backoff_delay)
        self.live = False
        prober = asyncio.get_running_loop().create_task(self._probe_whatsapp())
        saver = asyncio.get_running_loop().create_task(self._keep_login_saved())
        try:
            return await self._watch()
        finally:
            prober.cancel()
            saver.cancel()
            await self.messages.end()

    async def _watch(self) -> Outcome:
        assert self.page is not None, "watched while the browser runs"
        loop = asyncio.get_running_loop()
        ready_by = loop.time() + settings.WHATSAPP_AUTH_TIMEOUT
        next_beat = loop.time() + settings.WHATSAPP_HEARTBEAT
        reconnect_at = None
        reconnects = 0
        ready = False
        while True:
            deadlines = [next_beat] + ([reconnect_at] if reconnect_at else []) + ([] if ready else [ready_by])
            if self.messages.next_due is not None:  # a scheduled reply's time: a tick sends it
                deadlines.append(self.messages.next_due)
            wait = max(0.0, min(deadlines) - loop.time())
            try:
                name, payload = await asyncio.wait_for(self.events.get(), timeout=wait)
            except TimeoutError:
                name, payload = "tick", None
            outcome = None
            if name == "bridge.ready":
                ready = True
                if payload["mainReady"]:
                    await self._unless_silent(self._connected())
                elif payload["authCode"]:
                    outcome = await self._show_qr(payload["authCode"])
            elif name == "conn.auth_code_change":
                ready = True
                outcome = await self._show_qr(payload)
            elif name == "conn.authenticated":
                ready = True
                await db(self.database.log)(
                    in_helpdesk_language(gettext_noop("QR code scanned: logging in")), data={"metric": "scan"}
                )
            elif name == "conn.main_ready":
                ready = True
                reconnect_at, reconnects = None, 0
                await self._unless_silent(self._connected())
            elif name == "conn.online":
                if payload is False:
                    self.connected_at = None
                    self.live = False
                    reconnect_at = reconnect_at or loop.time() + backoff_delay(reconnects + 1)
                    await db(self.database.write)(connection_went_offline)
                elif await db(self.database.status)() == Status.DISCONNECTED:
                    reconnect_at, reconnects = None, 0
                    await self._unless_silent(self._connected())
            elif name == "conn.logout":
                return Outcome.LOGGED_OUT
            elif name == "wake" and (payload or {}).get("schedule_changed"):
                self.messages.schedule_changed()
            elif name == "chat.new_message":
                self.messages.heard(payload)
            elif name in wire.CHANGE_EVENTS:
                self.messages.changed(name, payload)
            elif name == "chat.msg_ack_change":
                await self.messages.acked(payload)
            elif name == "browser.closed":
                if self.worker_stopping:
                    return Outcome.WORKER_STOPPING
                await db(self.database.log)(
                    in_helpdesk_language(gettext_noop("The browser closed unexpectedly")),
                    ConnectionEvent.Kind.ERROR,
                )
                return Outcome.RETRY
            elif name == "worker.stopping":
                return Outcome.WORKER_STOPPING
            elif name == "lease.lost":
                return Outcome.LEASE_LOST
            elif name == "whatsapp.silent":
                return await self._stopped_answering(payload)
            elif name == "session.request":
                await self._unless_silent(
                    bus_answer(page=self.page, request=payload, log=db(self.database.log))
                )
            if outcome:
                return outcome
            if name in ("wake", "tick") and (
                outcome := await self._unless_silent(self._unless_database_away(self._orders_and_replies))
            ):
                return outcome
            now = loop.time()
            if now >= next_beat:
                next_beat = now + settings.WHATSAPP_HEARTBEAT
                self._note_stable(now)
                if outcome := await self._unless_database_away(self._heartbeat):
                    return outcome
            if not ready and now >= ready_by:
                await db(self.database.log)(
                    in_helpdesk_language(
                        gettext_noop("WhatsApp Web did not start within %(seconds).0f s"),
                        seconds=settings.WHATSAPP_AUTH_TIMEOUT,
                    ),
                    ConnectionEvent.Kind.ERROR,
                )
                return Outcome.RETRY
            if reconnect_at and now >= reconnect_at:
                reconnects += 1
                if reconnects > settings.WHATSAPP_MAX_ATTEMPTS:
                    await db(self.database.transition)(
                        Status.FAILED,
                        in_helpdesk_language(
                            ngettext_lazy(
                                "No connection after %(count)d attempt",
                                "No connection after %(count)d attempts",
                                "count",
                            ),
                            count=settings.WHATSAPP_MAX_ATTEMPTS,
                        ),
                        last_error=in_helpdesk_language(gettext_noop("No connection to WhatsApp")),
                        enabled=False,
                    )
                    return Outcome.FAILED
                await db(self.database.transition)(
                    Status.DISCONNECTED, "", reconnect_attempts=reconnects, data={"metric": "reconnect"}
                )
                await db(self.database.log)(
                    in_helpdesk_language(
                        gettext_noop("Reconnecting (attempt %(attempt)d of %(attempts)d)"),
                        attempt=reconnects,
                        attempts=settings.WHATSAPP_MAX_ATTEMPTS,
                    ),
                    data={"metric": "reconnect"},
                )
                reconnect_at = loop.time() + backoff_delay(reconnects + 1)
                try:
                    await self.page.reload(timeout=settings.WHATSAPP_AUTH_TIMEOUT * 1000)
                except Exception as error:
                    reload_failed = in_helpdesk_language(
                        gettext_noop("Reload failed: %(error)s"), error=error
                    )
                    await db(self.database.log)(reload_failed.splitlines()[0], ConnectionEvent.Kind.ERROR)

    # -- reactions ---------------------------------------------------------------------

    async def _show_qr(self, code: dict | None) -> Outcome | None:
        if code is None:  # WhatsApp Web stopped showing codes
            return await db(self._qr_expired)()
        self.has_login, self.save_at = False, None
        if self.restoring:
            self.restoring = False
            # The saved copies hold the same dead login: no other worker restores them again.
            await db(self.database.fenced)(
                saved_logins_delete, connection_id=self.connection_id, refused_too=False
            )
            await db(self.database.log)(
                in_helpdesk_language(
                    gettext_noop("The saved login no longer works: a new QR code is needed")
                ),
                data={"metric": "restore_failed"},
            )
        return await db(self._qr_shown)(code["fullCode"])

    async def _connected(self) -> None:
        me = await bridge.wpp_call(self.page, "conn.getMyUserId")
        serialized = str((me or {}).get("_serialized") if isinstance(me, dict) else me or "")
        phone = "".join(ch for ch in serialized.split("@")[0] if ch in "0123456789")[:20]
        self.me = f"{phone}@c.us" if phone else ""
        self.connected_at = asyncio.get_running_loop().time()
        self.live = True
        restored, self.restoring = self.restoring, False
        try:
            version = wire.web_version(await bridge.wpp_call(self.page, "conn.getBuildConstants"))
        except Exception:  # an older wa-js, or WhatsApp Web moved it: the version is kept as it was
            logger.warning("WhatsApp Web's version not read", exc_info=True, extra=self.log_extra)
            version = ""
        await db(self.database.write)(
            connection_connected, phone=phone, restored=restored, web_version=version
        )
        await db(profile_mark_used)(connection_id=self.connection_id)
        self.has_login = True
        self.save_at, self.saves = self.connected_at + LOGIN_SETTLES, 0
        await self.messages.catch_up()
        await self.messages.send_queued()

    async def _unless_silent(self, work: Awaitable[T]) -> T | None:
        """``work``, given up (None) once WhatsApp is found to have stopped answering: a page call that
        needs WhatsApp's servers then never returns, and the watch loop must go on to read the
        ``whatsapp.silent`` event. A reply being sent meanwhile is flagged (SessionMessages)."""
        silence = self.messages.silent
        if silence.is_set():
            if asyncio.iscoroutine(work):
                work.close()
            return None
        task = asyncio.ensure_future(work)
        silent = asyncio.ensure_future(silence.wait())
        try:
            await asyncio.wait({task, silent}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            silent.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    async def _probe_whatsapp(self) -> None:
        """Beside the watch loop, at every heartbeat while CONNECTED: a round trip that needs WhatsApp's
        servers (``contact.queryExists`` of the account's own number). A page whose stream died keeps
        saying connected but never answers it; after WHATSAPP_PROBE_TIMEOUT the session restarts.
        Beside the loop, not in it: a call that never returns may be what holds the loop up."""
        while True:
            await asyncio.sleep(settings.WHATSAPP_HEARTBEAT)
            if not self.live or self.page is None or not self.me:
                continue
            try:
                await asyncio.wait_for(
                    bridge.wpp_call(self.page, "contact.queryExists", self.me),
                    timeout=settings.WHATSAPP_PROBE_TIMEOUT,
                )
            except TimeoutError:
                if not self.live:  # gone offline meanwhile: conn.online's to handle
                    continue
                if not await self._page_answers():  # the browser hangs, not WhatsApp: the heartbeat's
                    continue
                self.messages.stopped_answering(reason="probe", seconds=settings.WHATSAPP_PROBE_TIMEOUT)
                return
            except Exception:  # an answer, even a refusal, is an answer; a page gone is the heartbeat's
                continue

    # -- the login kept centrally (whatsapp/saved_logins.py) -------------------------------

    async def _restore_login(self) -> None:
        """Before the browser starts: the central copy of the login, when the local one is missing or
        older (another machine ran the session since). A copy refused is said in the log, with why."""
        assert self.profile is not None, "restored into the prepared profile"
        result = await db(saved_login_restore)(
            connection_id=self.connection_id, owner=self.owner, profile=self.profile
        )
        for reason in result.refusals:
            await db(self.database.log)(
                in_helpdesk_language(
                    gettext_noop("The central copy of the login was not used: %(reason)s"),
                    reason=gettext_lazy(reason),
                ),
                ConnectionEvent.Kind.ERROR,
                data={"metric": "central_refused"},
            )
        if result.restored is not None:
            saved = result.restored
            await db(self.database.log)(
                in_helpdesk_language(
                    gettext_noop("Login restored from the central copy saved %(date)s (%(size)s KiB)"),
                    date=timezone.localtime(saved.created_at).strftime("%Y-%m-%d %H:%M"),
                    size=f"{saved.size / 1024:.0f}",
                ),
                data={"metric": "central_restored", "version": saved.version, "size": saved.size},
            )

    async def _keep_login_saved(self) -> None:
        """Beside the watch loop: the login saved LOGIN_SETTLES s after CONNECTED (once Chromium wrote
        it to disk), again SECOND_SAVE_AFTER s later (WhatsApp Web goes on writing its keys), then every
        WHATSAPP_PROFILE_SAVE_MINUTES; each time only if it changed. A save that failed (the store away)
        is tried again after SAVE_RETRY s; the session goes on meanwhile."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1)
            if self.save_at is None or not self.live or loop.time() < self.save_at:
                continue
            if not await self._save_login():
                self.save_at = loop.time() + SAVE_RETRY
                continue
            self.saves += 1
            later = SECOND_SAVE_AFTER if self.saves == 1 else settings.WHATSAPP_PROFILE_SAVE_MINUTES * 60
            self.save_at = loop.time() + later

    async def _save_login(self) -> bool:
        """Save the profile's login centrally if it changed; False when the store failed. Fenced by the
        lease: a session that lost it saves nothing (and its keeper ends it)."""
        profile = self.profile or profile_path(connection_id=self.connection_id)
        try:
            digest = await asyncio.to_thread(profile_digest, profile)
            if not await db(saved_login_due)(connection_id=self.connection_id, digest=digest):
                return True
            data = await asyncio.to_thread(archive_build, profile=profile, connection_id=self.connection_id)
            await db(saved_login_store)(
                connection_id=self.connection_id, owner=self.owner, data=data, digest=digest, profile=profile
            )
        except LeaseLost:
            logger.warning("login not saved: the lease is lost", extra=self.log_extra)
            return True
        except Exception:
            logger.warning("login not saved, trying again later", exc_info=True, extra=self.log_extra)
            return False
        logger.info("login saved centrally (%d bytes)", len(data), extra=self.log_extra)
        return True

    async def _page_answers(self) -> bool:
        if self.page is None:
            return False
        try:
            await asyncio.wait_for(self.page.evaluate("1"), timeout=settings.WHATSAPP_PROBE_TIMEOUT)
        except Exception:
            return False
        return True

    async def _stopped_answering(self, silence: dict) -> Outcome:
        """WhatsApp stopped answering (``SessionMessages.stopped_answering``): the session leaves
        CONNECTED saying why, and restarts its browser on the same profile (logged in, no QR)."""
        self.live = False
        if silence["reason"] == "ack":
            why = gettext_noop(
                "WhatsApp stopped answering: a reply got no acknowledgement within %(seconds).0f s"
            )
        else:
            why = gettext_noop("WhatsApp stopped answering: no answer within %(seconds).0f s")
        message = in_helpdesk_language(why, seconds=silence["seconds"])
        await db(self.database.transition)(
            Status.DISCONNECTED, message, last_error=message, data={"metric": "stalled"}
        )
        return Outcome.RETRY

    async def _unless_database_away(self, routine: Callable[[], Awaitable[Outcome | None]]) -> Outcome | None:
        """``routine``, work the watch loop does again at its next beat anyway; the database away
        (restarted, unreachable) skips it instead of restarting the browser. Meanwhile the lanes
        retry their batches, and the lease keeper ends the session if the database stays away
        past the lease, so a short outage costs a wait, not a new browser and a catch-up."""
        try:
            return await routine()
        except (OperationalError, InterfaceError) as error:
            logger.warning("database unavailable, trying again: %s", error, extra=self.log_extra)
            return None

    async def _orders_and_replies(self) -> Outcome | None:
        if outcome := await self._check_orders():
            return outcome
        await self.messages.send_queued()
        return None

    async def _check_orders(self) -> Outcome | None:
        """What the database asks of the session now: gone, stopped, restart, log out."""
        connection = await db(self.database.load)()
        if connection is None:
            return Outcome.DELETED
        if not connection.enabled:
            return Outcome.STOP
        if connection.command == Connection.Command.RESTART:
            # Logged first: an order marked done is never retried, so nothing may fail after it.
            await db(self.database.log)(in_helpdesk_language(gettext_noop("Restart requested")))
            await db(self.database.fenced)(connection_command_done, connection_id=self.connection_id)
            return Outcome.RESTART
        if connection.command == Connection.Command.LOGOUT:
            await db(self.database.fenced)(connection_command_done, connection_id=self.connection_id)
            try:
                await asyncio.wait_for(bridge.wpp_call(self.page, "conn.logout"), timeout=15)
            except Exception as error:
                failed = in_helpdesk_language(
                    gettext_noop("Logout in WhatsApp Web failed: %(error)s"), error=error
                )
                await db(self.database.log)(failed.splitlines()[0])
            return Outcome.LOGGED_OUT
        return None

    async def _heartbeat(self) -> Outcome | None:
        assert self.page is not None and self.profile is not None, "beats while the browser runs"
        try:
            await asyncio.wait_for(self.page.evaluate("1"), timeout=10)
        except Exception:
            await db(self.database.log)(
                in_helpdesk_language(gettext_noop("The browser stopped answering")),
                ConnectionEvent.Kind.ERROR,
            )
            return Outcome.RETRY
        # Off the loop, which carries the messages: reading the browser tree's memory walks /proc and
        # each process's page tables (smaps_rollup), which takes a while when Chromium is busy.
        memory = await asyncio.to_thread(browser_memory_bytes, profile=self.profile)
        await db(connection_heartbeat)(connection_id=self.connection_id, owner=self.owner, memory=memory)
        return None

    # -- outside world -------------------------------------------------------------------

    async def _keep_lease(self) -> None:
        """Renew the lease every heartbeat, beside the session's work; when it is lost, end the session.

        A database that does not answer is tried again at the next beat: if it stays away
        past the lease, the renewal then finds the lease expired, and the fence has kept
        the session from writing meanwhile.
        """
        renew = sync_to_async(self._renew, thread_sensitive=False, executor=self.lease_thread)
        while True:
            await asyncio.sleep(settings.WHATSAPP_HEARTBEAT)
            try:
                held = await renew()
            except Exception as error:
                logger.warning("renewing the lease failed: %s", error, extra=self.log_extra)
                continue
            if not held:
                logger.warning("lease lost: another worker may drive this connection", extra=self.log_extra)
                self.events.put_nowait(("lease.lost", None))
                return

    def _worker_stop(self) -> None:
        self.worker_stopping = True
        self.events.put_nowait(("worker.stopping", None))

    async def _sleep(self, seconds: float) -> None:
        """Wait out a backoff, ending early when an order or a worker stop arrives.

        What the closed browser reported before it went is dropped, not waited for: each of a
        burst's queued messages used to end the wait at once (a database restart spent 4 of the
        10 attempts in 0.3 s; a longer outage would have spent them all and ended FAILED). The
        next run's catch-up reads those messages again.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        with contextlib.suppress(TimeoutError):
            while True:
                name, _payload = await asyncio.wait_for(self.events.get(), timeout=until - loop.time())
                if name in ("wake", "worker.stopping"):
                    return

    async def _close_browser(self) -> None:
        # Forget the browser first: the "close" event it fires now is ours, not a crash.
        context, self.context, self.page = self.context, None, None
        if self.profile is not None:
            await browser_close(context, profile=self.profile)

    # -- database (run in Django's thread) -----------------------------------------------

    def _renew(self) -> bool:
        """In ``lease_thread``."""
        close_old_connections()
        return lease_renew(connection_id=self.connection_id, owner=self.owner)

    def _qr_shown(self, full_code: str) -> Outcome | None:
        connection = self.database.load()
        if connection is None:
            return Outcome.DELETED
        shown = self.database.fenced(connection_qr_shown, connection=connection, code=full_code)
        return None if shown else Outcome.QR_TIMEOUT

    def _qr_expired(self) -> Outcome:
        connection = self.database.load()
        if connection is None:
            return Outcome.DELETED
        self.database.fenced(connection_qr_expired, connection=connection)
        return Outcome.QR_TIMEOUT

    def _finish(self, outcome: Outcome) -> None:
        connection_session_ended(connection_id=self.connection_id, outcome=outcome, owner=self.owner)
        close_old_connections()
