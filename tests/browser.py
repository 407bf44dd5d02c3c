"""Pages in a real browser: the helpdesk served by daphne, Debian's Chromium driven by Playwright."""

import os

import pytest
from django.conf import settings
from django.db import connections
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
    """Sign ``user`` in (made by the factories: their password is theirs)."""
    page.goto(f"{web}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("agent-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
