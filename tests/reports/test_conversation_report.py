"""End to end: a conversation through the simulator reaches the report page, the CSV and the API."""

import csv
import io
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.models import ApiToken
from reports.templatetags.reports import duration
from tests.processes import wait_until
from tests.whatsapp.test_messages import write
from tickets.models import Message, Ticket
from tickets.services import ticket_close, ticket_reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_customer_writes_the_agent_answers_and_closes_and_the_reports_show_it(
    engine, simulator, phone, agent, staff, client, web, page
):
    engine.start_worker()
    engine.connected(phone)
    write(simulator, phone, "Olá, meu pedido não chegou")
    wait_until(lambda: Ticket.objects.exists(), timeout=30, message="the ticket")
    time.sleep(3)  # the agent answers a few seconds later

    reply = ticket_reply(ticket=Ticket.objects.get(), by=agent, body="Oi Maria, vou verificar.")
    wait_until(
        lambda: Message.objects.get(pk=reply.pk).status != Message.Status.QUEUED, timeout=30, message="sent"
    )
    ticket_close(ticket=Ticket.objects.get(), by=agent, reason=Ticket.CloseReason.AGENT)

    ticket = Ticket.objects.get()
    wait = (ticket.first_response_at - ticket.first_inbound_at).total_seconds()
    assert 2 <= wait < 60
    today = timezone.localdate()
    period = f"from={today}&to={today}"
    client.force_login(staff)
    html = client.get(f"/reports/?{period}").content.decode()
    shown = html[html.index('data-figure="first-response-median"') :].split("</dd>")[0]
    assert f'data-seconds="{wait:.3f}"' in shown
    rows = list(
        csv.DictReader(
            io.StringIO(b"".join(client.get(f"/reports/export.csv?{period}").streaming_content).decode())
        )
    )
    mine = next(row for row in rows if row["row"] == "agent" and row["id"] == str(agent.pk))
    assert float(mine["first_response_median_seconds"]) == pytest.approx(wait)
    assert float(mine["resolution_median_seconds"]) >= wait
    _token, key = ApiToken.issue(user=staff)
    summary = client.get(f"/api/reports/summary?{period}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert (summary["opened"], summary["closed"]) == (1, 1)
    assert summary["first_response_median_seconds"] == pytest.approx(wait)

    # In Chromium: the figure, and each chart drawn from its table by reports.js.
    page.goto(f"{web}/login/?next=/reports/%3F{period.replace('&', '%26')}")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill("agent-password")
    page.get_by_role("button", name="Sign in").click()
    figure = page.locator('[data-figure="first-response-median"]')
    expect(figure).to_have_attribute("data-seconds", f"{wait:.3f}")
    expect(figure).to_have_text(duration(wait))
    # The deferred scripts may still be running when the figure shows: wait for them to draw.
    drawn = "Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => !!Chart.getChart(c))"
    page.wait_for_function("typeof Chart !== 'undefined' && document.readyState === 'complete'")
    assert page.evaluate(drawn) == [True] * 5  # days, agents, queues, hours, CSAT
