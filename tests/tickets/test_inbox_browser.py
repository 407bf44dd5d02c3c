"""Moving around the inbox in a real browser: the URL follows, Back and a reload work, the keyboard works."""

import threading
import uuid

import pytest
from django.db import connections
from playwright.sync_api import expect

from helpdesk.selectors import preferences_of
from tests.browser import sign_in
from tests.factories import ContactFactory, MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.inbound import chat_messages_ingest
from tickets.models import Message
from tickets.outbound import message_ack
from whatsapp.wire import inbound_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_keyboard_back_and_reload_keep_the_agent_where_they_were(web, page):
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    older = TicketFactory(queue=queue, contact=ContactFactory(push_name="Older Customer"))
    newer = TicketFactory(queue=queue, contact=ContactFactory(push_name="Newer Customer"))
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/")
    page.evaluate("window.sameDocument = true")

    page.keyboard.press("j")  # the first ticket of Waiting: the longest wait
    expect(page.locator(".ticket-head h2")).to_have_text("Older Customer")
    assert page.url == f"{web}/inbox/{older.pk}/"
    page.keyboard.press("j")
    expect(page.locator(".ticket-head h2")).to_have_text("Newer Customer")
    page.keyboard.press("r")
    expect(page.locator("#composer-body")).to_be_focused()
    page.keyboard.press("Escape")  # leaves the composer
    page.keyboard.press("k")
    expect(page.locator(".ticket-head h2")).to_have_text("Older Customer")
    assert page.evaluate("window.sameDocument") is True

    page.go_back()
    expect(page.locator(".ticket-head h2")).to_have_text("Newer Customer")
    assert page.url == f"{web}/inbox/{newer.pk}/"
    page.reload()
    expect(page.locator(".ticket-head h2")).to_have_text("Newer Customer")
    expect(page.locator(".ticket-row.current")).to_contain_text("Newer Customer")


def test_muting_is_remembered_for_the_user(web, page):
    agent = UserFactory()
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/")

    page.get_by_role("button", name="Sound and notifications on").click()
    expect(page.get_by_role("button", name="Sound and notifications off")).to_be_visible()
    page.reload()

    expect(page.get_by_role("button", name="Sound and notifications off")).to_be_visible()
    assert preferences_of(user=agent).notifications_muted is True


def test_a_burst_on_the_open_ticket_shows_each_message_once_in_order_at_a_request_per_round_trip(web, page):
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue, contact=ContactFactory(push_name="Maria"))
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    expect(page.locator(".ticket-head h2")).to_have_text("Maria")
    asked = []
    page.on(
        "request", lambda request: asked.append(request.url) if "/messages/?after=" in request.url else None
    )
    customer_writes(ticket, *(f"parte {n}" for n in range(30)))

    expect(page.locator("#messages .msg.in")).to_have_count(30)
    expect(page.locator("#messages .msg.in .text").last).to_have_text("parte 29")
    shown = page.eval_on_selector_all("#messages .msg.in", "nodes => nodes.map((n) => n.id)")
    assert shown == [f"msg-{pk}" for pk in ticket.messages.order_by("pk").values_list("pk", flat=True)]
    assert 1 <= len(asked) < 10, asked  # not one request per message


def test_a_long_burst_keeps_the_page_at_the_newest_and_scrolling_up_brings_back_every_message(web, page):
    """While the agent reads at the bottom, the page lets the oldest bubbles go (a long burst would
    otherwise cost each message more than the one before); scrolling up brings them back, once each."""
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue, contact=ContactFactory(push_name="Maria"))
    answer = MessageFactory(
        ticket=ticket, from_me=True, author=agent, body="Bom dia!", status=Message.Status.SENT, wa_id="true_a"
    )
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    expect(page.locator(".ticket-head h2")).to_have_text("Maria")

    for batch in range(6):
        customer_writes(ticket, *(f"parte {batch * 50 + n}" for n in range(50)))
        newest = page.locator("#messages .msg.in .text").last
        expect(newest).to_have_text(f"parte {batch * 50 + 49}")
        expect(newest).to_be_in_viewport()  # the view follows the conversation
    assert page.locator("#messages .msg").count() <= 250  # not 300: the oldest were let go
    acked = threading.Thread(target=lambda: (ack_read(ticket, answer), connections.close_all()))
    acked.start()
    acked.join(timeout=30)
    customer_writes(ticket, "e agora?")  # after the read receipt's event: the page has had both
    expect(page.locator("#messages .msg.in .text").last).to_have_text("e agora?")
    expect(page.locator(f"#msg-{answer.pk}")).to_have_count(0)  # not dropped at the bottom, out of place

    everything = [f"msg-{pk}" for pk in ticket.messages.order_by("pk").values_list("pk", flat=True)]
    while (kept := page.locator("#messages .msg").count()) < len(everything):  # up, a page at a time
        page.locator("#messages .older").scroll_into_view_if_needed()
        expect(page.locator("#messages .msg")).not_to_have_count(kept)
    shown = page.eval_on_selector_all("#messages .msg", "nodes => nodes.map((n) => n.id)")
    assert shown == everything
    expect(page.locator("#messages .day")).to_have_count(1)
    expect(page.locator(f"#msg-{answer.pk}")).to_have_attribute("data-status", "read")  # loaded as it is


def ack_read(ticket, message) -> None:
    """The customer's phone says it read ``message`` (the session reports it with its WhatsApp id)."""
    assert message_ack(connection=ticket.connection, wa_ids=[message.wa_id], ack=3) == 1  # 3: read


def test_a_contacts_picture_is_downloaded_once_however_often_its_row_is_redrawn(web, page, simulator):
    """The picture comes from WhatsApp's CDN (here the simulator's), which lets a browser keep it:
    the row redrawn by each live message, and the inbox opened again, show the picture kept."""
    agent = UserFactory()
    queue = QueueFactory()
    queue.members.add(agent)
    contact = ContactFactory(push_name="Maria")
    user = contact.wa_id.split("@")[0]
    contact.avatar_url = f"{simulator.url}_sim/avatars/{user}.jpg"  # what the session stores
    contact.save()
    ticket = TicketFactory(queue=queue, contact=contact)
    before = picture_downloads(simulator, user)
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/")
    picture = page.locator(f"#row-{ticket.pk} img.avatar")
    expect(picture).to_have_js_property("naturalWidth", 96)  # the simulator's picture, shown
    page.evaluate("window.pictures = new Set()")

    for n in range(5):  # each message redraws the row: a new <img> for the same picture
        page.evaluate(f"window.pictures.add(document.querySelector('#row-{ticket.pk} img.avatar'))")
        customer_writes(ticket, f"mensagem {n}")
        expect(page.locator(f"#row-{ticket.pk} .row-preview")).to_have_text(f"mensagem {n}")
    page.evaluate(f"window.pictures.add(document.querySelector('#row-{ticket.pk} img.avatar'))")
    assert page.evaluate("window.pictures.size") == 6  # five redraws, each with its own <img>
    expect(picture).to_have_js_property("naturalWidth", 96)  # still shown, not a broken image
    page.goto(f"{web}/inbox/{ticket.pk}/")  # the inbox again, as a new page
    expect(picture).to_have_js_property("naturalWidth", 96)

    assert picture_downloads(simulator, user) - before == 1


def picture_downloads(simulator, user: str) -> int:
    """How many times the simulator's CDN was asked for ``user``'s picture (200 or 304)."""
    return simulator.get("/_sim/avatars")["requests"].get(user, 0)


def customer_writes(ticket, *texts: str) -> None:
    """``texts`` from the ticket's customer, stored in one batch as the session stores a chat's messages:
    in a thread of its own (this one runs Playwright's event loop)."""
    chat = ticket.contact.wa_id
    messages = [
        inbound_message(
            {
                "id": f"false_{chat}_{uuid.uuid4().hex[:16].upper()}",
                "from": chat,
                "type": "chat",
                "body": text,
            }
        )
        for text in texts
    ]
    store = threading.Thread(
        target=lambda: (
            chat_messages_ingest(connection=ticket.connection, chat=chat, messages=messages),
            connections.close_all(),
        )
    )
    store.start()
    store.join(timeout=30)
