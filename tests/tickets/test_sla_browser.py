"""An inbox row's SLA badge turns red in a real browser without a reload: as time passes (the page
counts down), and when the watch marks a breach the page could not foresee (its live event). The open
ticket's header counts down too, and its SLA details follow its live events."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import ConnectionFactory, QueueFactory, UserFactory
from tickets.inbound import message_ingest
from tickets.models import Ticket
from tickets.outbound import message_send
from tickets.sla import sla_watch
from whatsapp.wire import inbound_message

pytestmark = pytest.mark.django_db(transaction=True)


def customer_writes(queue, *, seconds_ago: int, chat: str) -> Ticket:
    connection = ConnectionFactory()
    connection.queues.add(queue)
    at = int((timezone.now() - timedelta(seconds=seconds_ago)).timestamp())
    payload = {"id": f"false_{chat}_SLA1", "from": chat, "to": "5511999990001@c.us", "fromMe": False}
    message_ingest(
        connection=connection, message=inbound_message({**payload, "type": "chat", "body": "Oi", "t": at})
    )
    return Ticket.objects.get(contact__wa_id=chat)


def test_a_row_turns_red_as_its_due_time_passes_and_when_the_watch_marks_it(web, page):
    agent = UserFactory()
    minute, hour = QueueFactory(sla_first_response_minutes=1), QueueFactory(sla_first_response_minutes=60)
    minute.members.add(agent)
    hour.members.add(agent)
    soon = customer_writes(minute, seconds_ago=45, chat="5511911110000@c.us")  # due in 15 s
    later = customer_writes(hour, seconds_ago=0, chat="5511922220000@c.us")  # due in an hour
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/")
    page.evaluate("window.sameDocument = true")
    soon_badge = page.locator(f'[data-ticket="{soon.pk}"] [data-sla]')
    later_badge = page.locator(f'[data-ticket="{later.pk}"] [data-sla]')

    assert soon_badge.get_attribute("data-sla") in ("ok", "warning")
    expect(later_badge).to_have_attribute("data-sla", "ok")
    expect(later_badge).to_be_visible()

    # Time passes: the page counts down by itself.
    expect(soon_badge).to_have_attribute("data-sla", "breached", timeout=30_000)
    expect(soon_badge).to_have_text("breached")
    expect(soon_badge).to_be_visible()

    # A due time the page did not know of (moved by the queue's change, say) is missed: the watch's
    # breach reaches the page live.
    Ticket.objects.filter(pk=later.pk).update(first_response_due=timezone.now() - timedelta(minutes=1))
    sla_watch()
    expect(later_badge).to_have_attribute("data-sla", "breached", timeout=10_000)
    assert page.evaluate("window.sameDocument") is True


def test_the_open_ticket_counts_down_and_shows_a_colleagues_first_answer_without_a_reload(web, page):
    agent, colleague = UserFactory(), UserFactory(first_name="Bruno", last_name="Lima")
    minute = QueueFactory(sla_first_response_minutes=1, sla_resolution_minutes=600)
    minute.members.add(agent, colleague)
    ticket = customer_writes(minute, seconds_ago=45, chat="5511933330000@c.us")  # its answer due in 15 s
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    page.evaluate("window.sameDocument = true")
    badge = page.locator("#ticket-head [data-sla]")
    details = page.locator("#ticket-sla")

    expect(details).to_contain_text("First response due")
    expect(details).not_to_contain_text("answered at")
    # Time passes: the header's badge counts down with the rows'.
    expect(badge).to_have_attribute("data-sla", "breached", timeout=30_000)
    expect(badge).to_have_text("breached")

    message_send(ticket=ticket, author=colleague, body="Desculpe a demora!")  # late: breached at its due time

    expect(details).to_contain_text("answered at", timeout=10_000)
    expect(details).to_contain_text("by Bruno Lima")
    expect(details).to_contain_text("breached at")
    expect(badge).to_have_attribute("data-sla", "breached")  # a breach stays
    assert page.evaluate("window.sameDocument") is True
