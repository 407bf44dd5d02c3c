"""Pages in a real browser: the helpdesk served by daphne, Debian's Chromium driven by Playwright."""

import os

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from tests.processes import web_server


@pytest.fixture
def web(engine, tmp_path):
    """The helpdesk's address, served by daphne on this test's database and bus."""
    child, url = web_server(engine.env, log=tmp_path / "web.log")
    yield url
    child.stop()


@pytest.fixture
def browser(monkeypatch):
    """Chromium, for tests that need several people at once (a context each: ``browser.new_page()``)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between Playwright's steps
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    args += [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
    ]  # a microphone that says yes
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=settings.WHATSAPP_BROWSER_PATH, args=args)
        yield browser
        browser.close()
        # The test's ORM calls inside Playwright's context opened their own database
        # connection; left open, PostgreSQL refuses to drop the test database at the end.
        connections.close_all()


@pytest.fixture
def page(browser):
    return browser.new_page()


def drop_file(page, target: str, name: str, mimetype: str, data: bytes = b"", *, size: int = 0) -> None:
    """Drag a file from the desktop onto ``target``, as a person would (``size``: that many zero bytes)."""
    transfer = page.evaluate_handle(
        """([name, type, bytes, size]) => {
            const transfer = new DataTransfer();
            const content = size ? new Uint8Array(size) : new Uint8Array(bytes);
            transfer.items.add(new File([content], name, { type }));
            return transfer;
        }""",
        [name, mimetype, list(data), size],
    )
    page.locator(target).dispatch_event("drop", {"dataTransfer": transfer})


def sign_in(page, web: str, user) -> None:
    """Sign ``user`` in: a session made as the sign-in form makes it, handed to the page's browser as
    its cookie. The form itself (and the password's check, on purpose slow) is tested once, in
    tests/helpdesk/test_pages.py and tests/helpdesk/test_languages_browser.py, not before every page."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": web}])
    page.goto(f"{web}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
