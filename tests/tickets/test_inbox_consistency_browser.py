"""Every action keeps the list, the tabs' counts and the composer true at once, in the acting page
and in every other open page (no reload, no waiting for a recheck)."""

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import ContactFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

AT_ONCE = 3000  # ms: what an event and a request or two take on a busy machine, not a recheck's 10 s


@pytest.fixture
def team(browser, web):
    """Ana and Bruno, agents of Suporte, each signed in in a browser of their own."""
    queue = QueueFactory(name="Suporte")
    ana = UserFactory(first_name="Ana", last_name="Lima")
    bruno = UserFactory(first_name="Bruno", last_name="Reis")
    queue.members.add(ana, bruno)
    team = SimpleNamespace(
        queue=queue, ana=ana, bruno=bruno, ana_page=browser.new_page(), bruno_page=browser.new_page()
    )
    sign_in(team.ana_page, web, ana)
    sign_in(team.bruno_page, web, bruno)
    return team


def open_live(page, url: str) -> None:
    """Open ``url`` and wait for its websocket (from then on the page hears of every change) and for
    what opening it set off (the read, its event, the header read again) to be over."""
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    page.wait_for_load_state("networkidle")


def count(page, tab: str):
    return page.locator(f'#inbox-tabs a[data-tab="{tab}"] .count')


def rows(page):
    return page.locator("#inbox-rows .ticket-row .name")


def test_a_transfer_moves_the_row_and_the_counts_in_both_pages(web, team):
    ana_page, bruno_page = team.ana_page, team.bruno_page
    sales = QueueFactory(name="Vendas")
    sales.members.add(team.bruno, UserFactory(first_name="Zeca"))
    moving = TicketFactory(
        queue=team.queue,
        assignee=team.ana,
        status="open",
        contact=ContactFactory(push_name="Carla"),
        unread_count=1,
    )
    TicketFactory(
        queue=team.queue, assignee=team.ana, status="open", contact=ContactFactory(push_name="Dora")
    )
    open_live(bruno_page, f"{web}/inbox/?tab=mine")
    open_live(ana_page, f"{web}/inbox/{moving.pk}/?tab=mine")  # reads it: a first change of the ticket
    expect(count(ana_page, "mine")).to_have_text("2")
    expect(count(bruno_page, "mine")).to_have_text("0")

    ana_page.get_by_role("button", name="Transfer").click()
    # htmx wires the form's "change" 20 ms after showing it, removing htmx-added at the same moment: a
    # person is slower than that, a test under load may not be.
    expect(ana_page.locator("#transfer-box form")).not_to_have_class(re.compile(r"\bhtmx-added\b"))
    agents = ana_page.get_by_label("Agent")
    expect(agents.locator("option")).to_have_text(
        ["---------", "Ana Lima", "Bruno Reis"]
    )  # Suporte's, by name
    ana_page.get_by_label("Queue").select_option(label="Vendas")
    expect(agents.locator("option")).to_have_text(["---------", "Bruno Reis", "Zeca"])  # the chosen queue's
    agents.select_option(label="Bruno Reis")
    ana_page.locator("#transfer-box").get_by_role("button", name="Transfer").click()

    # Ana no longer sees it (Vendas is not hers): her list and counts drop it at once.
    expect(ana_page.locator("#ticket-pane")).to_contain_text("The ticket left your queues.")
    expect(rows(ana_page)).to_have_text(["Dora"], timeout=AT_ONCE)
    expect(count(ana_page, "mine")).to_have_text("1", timeout=AT_ONCE)
    expect(rows(bruno_page)).to_have_text(["Carla"], timeout=AT_ONCE)
    expect(count(bruno_page, "mine")).to_have_text("1", timeout=AT_ONCE)


def test_accepting_from_waiting_then_closing_from_the_header(web, team):
    page_ana, page_bruno = team.ana_page, team.bruno_page
    waiting = TicketFactory(queue=team.queue, contact=ContactFactory(push_name="Carla"), unread_count=2)
    open_live(page_bruno, f"{web}/inbox/{waiting.pk}/?tab=waiting")
    open_live(page_ana, f"{web}/inbox/{waiting.pk}/?tab=waiting")
    expect(page_ana.locator("#composer-body")).to_be_visible()
    waiting.refresh_from_db()
    assert waiting.unread_count == 0  # the page, once shown, said it was read

    page_ana.get_by_role("button", name="Accept").click()

    # Ana's list follows the ticket to Mine, where its conversation goes on.
    expect(page_ana.locator("#inbox-tabs a[aria-current]")).to_have_attribute(
        "data-tab", "mine", timeout=AT_ONCE
    )
    expect(rows(page_ana)).to_have_text(["Carla"], timeout=AT_ONCE)
    expect(page_ana.locator(".ticket-row.current .name")).to_have_text("Carla")
    expect(count(page_ana, "mine")).to_have_text("1")
    expect(count(page_ana, "waiting")).to_have_text("0")
    assert "tab=mine" in page_ana.url
    # Bruno's Waiting lost it; his open copy says whose it is.
    expect(rows(page_bruno)).to_have_count(0, timeout=AT_ONCE)
    expect(count(page_bruno, "waiting")).to_have_text("0", timeout=AT_ONCE)
    expect(page_bruno.locator(".ticket-head")).to_contain_text("with Ana Lima", timeout=AT_ONCE)

    page_ana.locator(".close-form").get_by_role("button", name="Close").click()

    for page in (page_ana, page_bruno):
        expect(page.locator("#composer-body")).to_be_hidden(timeout=AT_ONCE)
        expect(page.get_by_text("This ticket is closed. Reopen it to answer.")).to_be_visible()
    expect(rows(page_ana)).to_have_count(0, timeout=AT_ONCE)
    expect(count(page_ana, "mine")).to_have_text("0", timeout=AT_ONCE)

    page_ana.get_by_role("button", name="Reopen").click()

    for page in (page_ana, page_bruno):
        expect(page.locator("#composer-body")).to_be_visible(timeout=AT_ONCE)
    expect(count(page_ana, "mine")).to_have_text("1", timeout=AT_ONCE)
    assert Ticket.objects.get(pk=waiting.pk).status == Ticket.Status.OPEN
