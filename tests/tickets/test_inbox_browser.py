"""Moving around the inbox in a real browser: the URL follows, Back and a reload work, the keyboard works."""

import pytest
from playwright.sync_api import expect

from helpdesk.selectors import preferences_of
from tests.browser import sign_in
from tests.factories import ContactFactory, QueueFactory, TicketFactory, UserFactory

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
