"""Send later in a real browser: the composer's time, and two agents' pages following the scheduled
reply as it is written, edited, cancelled, and as it goes."""

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import QueueFactory, TicketFactory, UserFactory
from tickets.models import Message
from tickets.outbound import scheduled_promote

pytestmark = pytest.mark.django_db(transaction=True)


def open_ticket(page, web: str, ticket, agent) -> None:
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    expect(page.locator("#composer-body")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "open")


def test_two_pages_follow_a_scheduled_reply_until_it_goes(web, browser):
    ana, bia = UserFactory(first_name="Ana"), UserFactory(first_name="Bia")
    queue = QueueFactory()
    queue.members.add(ana, bia)
    ticket = TicketFactory(queue=queue, status="open", assignee=ana)
    mine, theirs = browser.new_page(), browser.new_page()
    open_ticket(mine, web, ticket, ana)
    open_ticket(theirs, web, ticket, bia)
    zone = zoneinfo.ZoneInfo("America/Sao_Paulo")
    when = (timezone.now() + timedelta(hours=2)).astimezone(zone)
    expect(mine.locator(".composer-later")).to_contain_text("America/Sao_Paulo")

    mine.locator("#composer-body").fill("Bom dia, volto a falar às 10h")
    mine.locator("#composer-send-at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    mine.locator("#composer").get_by_role("button", name="Send").click()

    for page in (mine, theirs):
        expect(page.locator("#scheduled [data-scheduled]")).to_contain_text("Bom dia, volto a falar às 10h")
        expect(page.locator("#scheduled .scheduled-for")).to_contain_text("Scheduled for")
        expect(page.locator("#messages .msg")).to_have_count(0)
    expect(mine.locator("#composer-body")).to_have_value("")
    message = Message.objects.get()
    assert (message.status, message.send_at) == ("scheduled", when.replace(second=0, microsecond=0))

    theirs.locator("#scheduled summary").click()  # Edit
    theirs.locator("#scheduled textarea[name=body]").fill("Bom dia, volto às 11h")
    theirs.locator("#scheduled").get_by_role("button", name="Save").click()
    expect(mine.locator("#scheduled [data-scheduled]")).to_contain_text("Bom dia, volto às 11h")

    mine.once("dialog", lambda dialog: dialog.accept())
    mine.locator("#scheduled [data-scheduled-cancel]").click()
    for page in (mine, theirs):
        expect(page.locator("#scheduled [data-scheduled]")).to_have_count(0)
    assert not Message.objects.exists()

    mine.locator("#composer-body").fill("Lembrete")
    mine.locator("#composer-send-at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    mine.locator("#composer").get_by_role("button", name="Send").click()
    expect(theirs.locator("#scheduled [data-scheduled]")).to_contain_text("Lembrete")
    Message.objects.update(send_at=timezone.now())
    scheduled_promote(connection_id=ticket.connection_id)  # what the session does at its time

    for page in (mine, theirs):
        expect(page.locator("#scheduled [data-scheduled]")).to_have_count(0)
        expect(page.locator("#messages .msg.out")).to_contain_text("Lembrete")
