"""The session's heartbeat (whatsapp/session.py) beside the messages its event loop carries.

The beat reads the browser tree's memory from /proc (a walk of every process, then each of the
browser's ``smaps_rollup``, which walks its page tables). ``browser_memory_bytes`` timed from another
process during a 50 msg/s burst on a slowed machine (2026-11-29): up to 219 ms. Read on the loop, that held up every message of the session for as long, at every beat; it
is read in a thread now. The slow /proc is stood in for here (a real one cannot be made slow on cue).
"""

import asyncio
import os
import time

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import async_playwright

from whatsapp.lease import lease_acquire, lease_renew
from whatsapp.models import Connection
from whatsapp.profiles import profile_path

pytestmark = pytest.mark.django_db(transaction=True)  # the session's ORM calls run in its own threads
SLOW_PROC = 0.5  # seconds a busy machine's /proc takes to answer, here


def test_a_slow_memory_reading_does_not_hold_up_the_sessions_loop(session, monkeypatch, settings):
    def slow_memory_bytes(*, profile):
        time.sleep(SLOW_PROC)
        return 123_456

    monkeypatch.setattr("whatsapp.session.browser_memory_bytes", slow_memory_bytes)
    session.profile = profile_path(connection_id=session.connection_id)
    session.profile.mkdir(parents=True)

    async def beat_beside_ticks() -> int:
        ticks = 0
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=settings.WHATSAPP_BROWSER_PATH, args=args
            )
            session.page = await browser.new_page()
            settings.WHATSAPP_LEASE = 30  # held for longer than Chromium takes to start
            held = {"connection_id": session.connection_id, "owner": session.owner}
            assert await sync_to_async(lambda: lease_renew(**held) or lease_acquire(**held))()
            beat = asyncio.create_task(session._heartbeat())
            while not beat.done():  # what else the loop does meanwhile: here, ticks of 10 ms
                await asyncio.sleep(0.01)
                ticks += 1
            assert await beat is None  # a healthy beat
            await browser.close()
        return ticks

    ticks = asyncio.run(beat_beside_ticks())

    assert ticks >= SLOW_PROC / 0.01 / 2, (
        ticks
    )  # the loop went on while /proc was read (4 ticks when read on it)
    assert Connection.objects.get(pk=session.connection_id).browser_memory == 123_456
