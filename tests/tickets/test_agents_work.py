"""Two agents answer customers in real browsers: live lists, the conversation, the composer, transfers.

The whole chain is real: the simulator's phones, a session worker with Chromium,
daphne serving the pages and websockets, and a Chromium per agent.
"""

import base64

import pytest
from playwright.sync_api import expect

from tests.browser import drop_file, sign_in
from tests.factories import QueueFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, QuickReply, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

PHONE, CUSTOMER = "5531999990021", "5511988880021"
# A 1x1 PNG: what a drop of a screenshot would carry.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def unfocused(page) -> None:
    """The agent is in another window: notifications are for this case."""
    page.evaluate("document.hasFocus = () => false")


def test_two_agents_share_a_queue_and_one_answers(engine, simulator, web, browser):
    engine.start_worker()
    ana = UserFactory(username="ana", first_name="Ana")
    bruno = UserFactory(username="bruno", first_name="Bruno")
    carla = UserFactory(username="carla", first_name="Carla")
    support, sales = QueueFactory(name="Support"), QueueFactory(name="Sales")
    support.members.add(ana, bruno)
    sales.members.add(carla)
    QuickReply.objects.create(shortcut="hours", body="We are open from 8 to 18.")
    engine.connected(PHONE, "Main number", queues=[support])
    pages = {}
    for user in (ana, bruno, carla):
        pages[user.username] = page = browser.new_page()
        sign_in(page, web, user)
        page.goto(f"{web}/inbox/?tab=waiting")
        expect(page.get_by_text("No tickets here.")).to_be_visible()
        unfocused(page)
    a, b, c = pages["ana"], pages["bruno"], pages["carla"]

    simulator.post(
        "/_sim/messages", {"account": PHONE, "from": CUSTOMER, "name": "Maria", "body": "Preciso de ajuda"}
    )

    for page in (a, b):  # live in both Waiting tabs, with a notification
        expect(page.locator(".ticket-row").filter(has_text="Preciso de ajuda")).to_be_visible(timeout=15_000)
        wait_until(
            lambda page=page: page.evaluate("window.helpdeskNotified || 0") >= 1, message="a notification"
        )
    expect(c.locator(".ticket-row")).to_have_count(0)
    ticket = Ticket.objects.get()
    assert ticket.unread_count == 1

    # Ana opens it: read here and on the phone.
    a.locator(".ticket-row a").click()
    expect(a.locator("#conversation")).to_contain_text("Preciso de ajuda")
    assert a.url.endswith(f"/inbox/{ticket.pk}/?tab=waiting")
    wait_until(lambda: Ticket.objects.get().unread_count == 0, message="the unread count to reset")
    chat = f"{CUSTOMER}@c.us"
    wait_until(
        lambda: phone_account(simulator)["unread"].get(chat) == 0, message="the phone to show the chat read"
    )

    # Ana answers (Enter sends): the ticket is hers, it leaves Bruno's Waiting tab.
    a.locator("#composer-body").fill("Olá Maria, já vejo")
    a.locator("#composer-body").press("Enter")
    expect(b.locator(".ticket-row")).to_have_count(0, timeout=10_000)
    expect(a.locator("#composer-body")).to_have_value("")
    wait_until(
        lambda: any(m["body"] == "*Ana:*\nOlá Maria, já vejo" for m in outbox(simulator)),
        message="the signed answer on the customer's phone",
    )
    assert Ticket.objects.get().assignee == ana

    # An image dropped on the conversation, then a quick reply found by "/".
    drop_file(a, ".ticket-body", "screen.png", "image/png", PNG)
    expect(a.locator("#composer-file-name")).to_contain_text("screen.png")
    a.locator("#composer").get_by_role("button", name="Send").click()
    expect(a.locator("#messages img.media")).to_be_visible()
    a.locator("#composer-body").press_sequentially("/hou")
    expect(a.locator("#quick-replies")).to_contain_text("We are open")
    a.locator("#composer-body").press("Enter")
    expect(a.locator("#composer-body")).to_have_value("We are open from 8 to 18.")
    a.locator("#composer-body").press("Enter")
    wait_until(lambda: len(outbox(simulator)) == 3, message="three messages on the phone")
    assert [m.get("media", {}).get("mimetype") for m in outbox(simulator)][1] == "image/png"

    # The customer reads everything: Ana's ticks turn read, no reload.
    a.evaluate("window.sameDocument = true")
    sent_ones = Message.objects.filter(from_me=True).exclude(wa_id=None)
    wait_until(
        lambda: sent_ones.count() == 3, message="WhatsApp's ids of the three"
    )  # after the phone has them
    for sent in sent_ones:
        simulator.post("/_sim/ack", {"account": PHONE, "id": sent.wa_id, "ack": 3})
    expect(a.locator("#messages .msg.out .ticks.read")).to_have_count(3, timeout=10_000)

    # Ana transfers to Sales: gone from her page, waiting for Carla.
    a.get_by_role("button", name="Transfer").click()
    a.locator("#transfer-box select[name=queue]").select_option(label="Sales")
    a.locator("#transfer-box textarea[name=note]").fill("Quer um orçamento")
    a.locator("#transfer-box").get_by_role("button", name="Transfer").click()
    expect(a.locator(".ticket-row")).to_have_count(0, timeout=10_000)
    expect(c.locator(".ticket-row").filter(has_text="Maria")).to_be_visible(timeout=10_000)
    assert a.evaluate("window.sameDocument") is True
    c.locator(".ticket-row a").click()
    expect(c.locator("#conversation")).to_contain_text("Ana transferred to Sales")
    expect(c.locator("#conversation .msg.note")).to_contain_text("Quer um orçamento")


def phone_account(simulator) -> dict:
    """This test's phone among the simulator's accounts (the simulator serves the whole test run)."""
    return next(a for a in simulator.get("/_sim/accounts")["accounts"] if a["phone"] == PHONE)


def outbox(simulator) -> list[dict]:
    return simulator.get(f"/_sim/outbox?account={PHONE}")["messages"]
