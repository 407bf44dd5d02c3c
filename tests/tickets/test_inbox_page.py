"""A customer writes: the ticket appears in the agent's inbox, open in a real browser, without a reload."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import QueueFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_customer_appears_in_the_inbox_live(engine, simulator, web, page):
    engine.start_worker()
    agent = UserFactory(username="bia")
    support = QueueFactory(name="Suporte")
    support.members.add(agent)
    engine.connected("5531999990007", "Vendas", queues=[support])
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/")
    expect(page.get_by_text("No tickets here.")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "open")  # events reach the page from now
    page.evaluate("window.sameDocument = true")

    simulator.post(
        "/_sim/messages",
        {"account": "5531999990007", "from": "5511988887777", "name": "Maria", "body": "Preciso de ajuda"},
    )

    row = page.locator(".ticket-row").filter(has_text="Preciso de ajuda")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("Maria")
    expect(row).to_contain_text("Suporte")
    assert page.evaluate("window.sameDocument") is True
