"""A session's page in a real Chromium, with a script standing in for WhatsApp Web's (``window.WPP``):
what the session's outbox calls on the page, without a simulator."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Page, async_playwright

from whatsapp.browser import browser_close, browser_launch
from whatsapp.session import Session


@contextlib.asynccontextmanager
async def session_page(session: Session, script: str, *, profile: Path) -> AsyncIterator[Page]:
    """The session's messages work on a page of a real Chromium where ``script`` ran; closed after."""
    async with async_playwright() as playwright:
        context = await browser_launch(playwright, profile=profile)
        try:
            session.messages.page = context.pages[0] if context.pages else await context.new_page()
            await session.messages.page.evaluate(script)
            yield session.messages.page
        finally:
            await browser_close(context, profile=profile)
