"""An admin adds a number: the QR code arrives in their browser over the websocket, live."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.engine import SIM_PHONE
from tests.factories import StaffFactory
from whatsapp.services import connection_create, connection_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_qr_code_reaches_the_page_live_and_scanning_connects(engine, simulator, web, page):
    engine.start_worker()
    connection = connection_create(name="Vendas", enabled=False)
    sign_in(page, web, StaffFactory(username="ana"))
    page.goto(f"{web}/connections/{connection.pk}/")
    qr = page.get_by_role("img", name="QR code to link this WhatsApp number")
    expect(qr).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_disabled()

    page.get_by_role("button", name="Start", exact=True).click()
    expect(qr).to_be_visible(timeout=20_000)
    page.evaluate("window.sameDocument = true")
    first = qr.get_attribute("src")
    assert first.startswith("data:image/png;base64,")

    # The next code (the simulator rotates them) replaces the image in place.
    expect(qr).not_to_have_attribute("src", first, timeout=15_000)
    assert page.evaluate("window.sameDocument") is True

    connection.refresh_from_db()
    status, _ = simulator.post("/_sim/scan", {"code": connection.qr_code, "phone": SIM_PHONE})
    assert status == 200
    expect(page.locator('[data-field="status"]')).to_have_text("Connected", timeout=20_000)
    expect(qr).to_be_hidden()
    expect(page.locator("#log li").first).to_contain_text("Connected as +55 11 99999-0001")
    assert page.evaluate("window.sameDocument") is True

    # The buttons followed the status live; Log out asks first, and a "no" sends nothing.
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_disabled()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Log out").click()
    assert asked and asked[0].startswith("Log the phone out?")
    assert page.evaluate("window.sameDocument") is True
    connection.refresh_from_db()
    assert connection.command == ""


def test_an_agent_cannot_open_the_connection_websocket(engine, web, page):
    from tests.factories import UserFactory

    UserFactory(username="bruno")
    page.goto(f"{web}/login/")
    page.get_by_label("Username").fill("bruno")
    page.get_by_label("Password").fill("agent-password")
    page.get_by_role("button", name="Sign in").click()
    # Signed in once the overview shows: a script run while the form's answer loads would be lost.
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    close_code = page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(location.origin.replace("http", "ws") + "/ws/connections/");
            socket.onclose = (event) => resolve(event.code);
        })"""
    )

    assert close_code == 4403


def test_the_admin_page_shows_the_status_live(engine, simulator, web, page):
    engine.start_worker()
    connection = connection_create(name="Vendas", enabled=False)  # not restored before the page is open
    sign_in(page, web, StaffFactory(username="ana"))
    page.goto(f"{web}/admin/whatsapp/connection/{connection.pk}/change/")
    badge = page.locator('[data-field="status"]').first
    expect(badge).to_have_text("Stopped")

    connection_request(connection=connection, enabled=True)

    expect(badge).to_have_text("Waiting for QR scan", timeout=20_000)


def test_a_new_log_line_reaches_a_portuguese_readers_page_live_in_portuguese(
    engine, web, browser, page, settings
):
    """The helpdesk writes its log in Portuguese (LANGUAGE_CODE of this process and of the worker, which
    write the lines); the web server keeps its default, English, so the status names can only be
    Portuguese because the page's socket speaks its reader's language: her browser's, pt-BR."""
    settings.LANGUAGE_CODE = "pt-br"
    engine.start_worker(LANGUAGE_CODE="pt-br")
    connection = connection_create(name="Vendas", enabled=False)  # not restored before the page is open
    sign_in(page, web, StaffFactory(username="ana"))
    portuguese = browser.new_context(locale="pt-BR", storage_state=page.context.storage_state()).new_page()
    portuguese.goto(f"{web}/connections/{connection.pk}/")
    expect(portuguese.get_by_role("heading", name="Registro")).to_be_visible()
    portuguese.evaluate("window.sameDocument = true")

    connection_request(connection=connection, enabled=True)

    line = portuguese.locator("#log li", has_text="Aguardando a leitura do QR code")
    expect(line).to_contain_text("Iniciando → Aguardando leitura do QR", timeout=20_000)
    expect(portuguese.locator('[data-field="status"]')).to_have_text("Aguardando leitura do QR")
    assert portuguese.evaluate("window.sameDocument") is True  # live, not reloaded
