"""The connection's log shows every time in TIME_ZONE, in one format: the lines it was served with and
the lines that arrive live, whatever the browser's own time zone."""

import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.template import Context, Template
from django.utils import translation
from playwright.sync_api import expect

from helpdesk.asgi import application
from tests.browser import sign_in
from tests.factories import ConnectionFactory, StaffFactory
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.services import connection_log, connection_transition

pytestmark = pytest.mark.django_db(transaction=True)

# Counts the page's open websockets, so the test writes its live line once the page listens.
SOCKETS_OPEN = """
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("open", () => { window.socketsOpen = (window.socketsOpen || 0) + 1; });
  }
};
"""


def as_the_page_writes(at, language: str) -> str:
    """``at`` as templates/whatsapp/connection_detail.html writes a log line's time."""
    with translation.override(language):
        return Template('{{ at|date:"DATETIME_FORMAT" }}').render(Context({"at": at}))


def log_from_another_thread(connection: Connection, message: str) -> ConnectionEvent:
    """``connection_log`` as a worker calls it: outside Playwright's event loop, where the event's
    publication (async_to_sync) may run."""
    logged = []

    def log() -> None:
        logged.append(connection_log(connection=connection, message=message))
        connections.close_all()

    thread = threading.Thread(target=log)
    thread.start()
    thread.join()
    return logged[0]


def test_live_log_lines_show_the_same_zone_and_format_as_served_ones(web, browser):
    staff = StaffFactory()
    connection = ConnectionFactory()
    # The browser is in Tokyo, 12 hours from São Paulo (TIME_ZONE): a time in the browser's zone would show.
    page = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US").new_page()
    page.add_init_script(SOCKETS_OPEN)
    sign_in(page, web, staff)
    page.goto(f"{web}/connections/{connection.pk}/")
    page.wait_for_function("window.socketsOpen >= 1")

    event = log_from_another_thread(connection, "A live line")
    live_line = page.locator("#log li").first
    expect(live_line).to_contain_text("A live line")
    live_time = live_line.locator("time").text_content()
    page.reload()
    expect(page.locator("#log li").first).to_contain_text("A live line")
    served_time = page.locator("#log li").first.locator("time").text_content()

    assert live_time == served_time == as_the_page_writes(event.at, "en")


@pytest.mark.usefixtures("channel_layer")
def test_the_live_event_is_written_in_the_readers_language(staff_client):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED)
    cookie = f"{settings.SESSION_COOKIE_NAME}={staff_client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [
        (b"origin", b"http://localhost:8000"),
        (b"cookie", cookie.encode()),
        (b"accept-language", b"pt-BR,pt;q=0.9"),
    ]

    async def conversation() -> dict:
        communicator = WebsocketCommunicator(
            application, f"/ws/connections/{connection.pk}/", headers=headers
        )
        assert (await communicator.connect())[0]
        await database_sync_to_async(connection_transition)(
            connection=connection, to=Connection.Status.DISCONNECTED, message="Caiu"
        )
        received = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return received

    received = async_to_sync(conversation)()

    at = ConnectionEvent.objects.get(message="Caiu").at
    assert received["connection"]["status_label"] == "Desconectada"
    assert (received["event"]["from_status_label"], received["event"]["to_status_label"]) == (
        "Conectada",
        "Desconectada",
    )
    assert received["event"]["at_display"] == as_the_page_writes(at, "pt-br")
    assert " de " in received["event"]["at_display"]  # "28 de Novembro de 2026 às 12:30"
