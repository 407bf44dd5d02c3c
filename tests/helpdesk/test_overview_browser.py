"""The overview stays current in Chromium without a reload: a customer writes through the simulator and
their queue's waiting count goes up; an agent opens the inbox and the queue's online count goes up.

The whole chain is real (the inbox page's own socket makes the agent online): the simulator's phone, a session worker with Chromium, daphne serving the
pages and websockets, Redis between them.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import QueueFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "5511988880061"


def test_the_wall_counts_a_new_customer_and_an_agent_coming_online_without_a_reload(
    engine, simulator, web, browser, phone
):
    engine.start_worker()
    support = QueueFactory(name="Support")
    agent = UserFactory(first_name="Ana")
    support.members.add(agent)
    engine.connected(phone, "Main number", queues=[support])
    wall = browser.new_page()
    sign_in(wall, web, StaffFactory())
    wall.evaluate("window.sameDocument = true")
    row = wall.locator(f'[data-overview-queue="{support.pk}"]')
    expect(row.locator('[data-figure="queue-waiting"]')).to_have_text("0")
    expect(row.locator('[data-figure="queue-online"]')).to_have_text("0")
    expect(wall.locator("body")).to_have_attribute("data-live", "open")

    simulator.post("/_sim/messages", {"account": phone, "from": CUSTOMER, "name": "Maria", "body": "Oi"})

    expect(row.locator('[data-figure="queue-waiting"]')).to_have_text("1", timeout=10_000)

    inbox = browser.new_page()
    sign_in(inbox, web, agent)
    inbox.goto(f"{web}/inbox/")
    expect(inbox.locator(".ticket-row")).to_have_count(
        1
    )  # its socket makes Ana online (helpdesk/presence.py)

    expect(row.locator('[data-figure="queue-online"]')).to_have_text("1", timeout=10_000)
    expect(wall.locator(f'[data-overview-agent="{agent.pk}"]')).to_have_attribute("data-presence", "online")
    assert wall.evaluate("window.sameDocument") is True  # no reload: the wall changed in place


def test_the_no_queue_line_follows_a_customer_to_the_queue_they_choose_without_a_reload(
    engine, simulator, web, browser, phone
):
    engine.start_worker()
    support, sales = QueueFactory(name="Support", ordering=1), QueueFactory(name="Sales", ordering=2)
    engine.connected(phone, name="Main number", queues=[support, sales])  # two queues: the customer is asked
    wall = browser.new_page()
    sign_in(wall, web, StaffFactory())
    wall.evaluate("window.sameDocument = true")
    unrouted = wall.locator("[data-overview-no-queue]")
    expect(wall.locator("body")).to_have_attribute("data-live", "open")
    expect(unrouted).to_have_count(0)

    simulator.post("/_sim/messages", {"account": phone, "from": CUSTOMER, "name": "Maria", "body": "Oi"})

    expect(unrouted.locator('[data-figure="queue-waiting"]')).to_have_text("1", timeout=10_000)

    simulator.post("/_sim/messages", {"account": phone, "from": CUSTOMER, "name": "Maria", "body": "1"})

    expect(unrouted).to_have_count(0, timeout=10_000)
    row = wall.locator(f'[data-overview-queue="{support.pk}"]')
    expect(row.locator('[data-figure="queue-waiting"]')).to_have_text("1")
    assert wall.evaluate("window.sameDocument") is True
