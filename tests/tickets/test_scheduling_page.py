"""Send later in the ticket page: the composer's time, the scheduled list, its edit and cancel."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Message
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db
SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def ticket(agent):
    queue = QueueFactory(name="Support")
    queue.members.add(agent)
    return TicketFactory(queue=queue, status="open", assignee=agent)


def local_input(when: datetime) -> str:
    """What a datetime-local input sends: the time in the helpdesk's zone, without it."""
    return when.astimezone(SAO_PAULO).strftime("%Y-%m-%dT%H:%M")


def post(client, name: str, *args, data=None):
    return client.post(reverse(name, args=args), data or {}, HTTP_HX_REQUEST="true")


def test_the_composer_schedules_in_the_helpdesks_time_zone(agent_client, ticket, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    when = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)

    response = post(
        agent_client, "ticket-reply", ticket.pk, data={"body": "Bom dia!", "send_at": local_input(when)}
    )

    message = ticket.messages.get()
    assert (message.status, message.send_at) == ("scheduled", when)
    assert response["HX-Retarget"] == "#scheduled" and response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert (
        f'data-scheduled="{message.pk}"' in html and "Scheduled for" in html and "America/Sao_Paulo" in html
    )
    assert "composer-sent" in response["HX-Trigger"]


def test_the_page_shows_it_below_the_conversation_not_in_it(agent_client, agent, ticket):
    MessageFactory(ticket=ticket, body="Oi", from_me=False, status="received")
    scheduled = ticket_reply(
        ticket=ticket, by=agent, body="Mais tarde", send_at=timezone.now() + timedelta(hours=1)
    )

    page = agent_client.get(reverse("ticket", args=[ticket.pk]), HTTP_HX_REQUEST="true")
    newer = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"after": 0})
    one = agent_client.get(reverse("ticket-message", args=[ticket.pk, scheduled.pk]))

    assert [m.body for m in page.context["conversation"].items] == ["Oi"]
    assert [m.pk for m in page.context["scheduled"]] == [scheduled.pk]
    assert f'id="scheduled-{scheduled.pk}"' in page.content.decode()
    assert f'id="msg-{scheduled.pk}"' not in newer.content.decode() and one.status_code == 404


@pytest.mark.parametrize(
    ("offset", "error"),
    [(timedelta(minutes=-5), "has passed"), (timedelta(days=400), "a year ahead")],
)
def test_the_composer_shows_the_same_refusals_as_the_api(agent_client, ticket, offset, error):
    response = post(
        agent_client,
        "ticket-reply",
        ticket.pk,
        data={"body": "Bom dia!", "send_at": local_input(timezone.now() + offset)},
    )

    assert response.status_code == 400 and response["HX-Retarget"] == "#composer-error"
    assert error in response.content.decode()
    assert not ticket.messages.exists()


def test_a_note_cannot_be_scheduled_from_the_composer(agent_client, ticket):
    when = local_input(timezone.now() + timedelta(hours=1))
    response = post(
        agent_client, "ticket-reply", ticket.pk, data={"body": "x", "internal": "on", "send_at": when}
    )

    assert response.status_code == 400 and "cannot be scheduled" in response.content.decode()


def test_edit_changes_text_and_time_and_a_refusal_stays_in_its_form(agent_client, agent, ticket):
    message = ticket_reply(
        ticket=ticket, by=agent, body="Bom dia", send_at=timezone.now() + timedelta(hours=1), signed=True
    )
    form = agent_client.get(reverse("ticket-scheduled", args=[ticket.pk])).content.decode()
    assert '<textarea name="body" rows="2">Bom dia</textarea>' in form  # as typed, without the signature
    when = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)

    done = post(
        agent_client,
        "scheduled-edit",
        ticket.pk,
        message.pk,
        data={"body": "Boa tarde", "send_at": local_input(when)},
    )
    past = local_input(timezone.now() - timedelta(hours=1))
    refused = post(
        agent_client, "scheduled-edit", ticket.pk, message.pk, data={"body": "Boa noite", "send_at": past}
    )

    message.refresh_from_db()
    signature = f"*{agent.get_full_name() or agent.username}:*\n"
    assert (message.body, message.send_at, message.status) == (f"{signature}Boa tarde", when, "scheduled")
    assert "Boa tarde" in done.content.decode()
    assert refused["HX-Retarget"] == f"#scheduled-{message.pk}"
    html = refused.content.decode()
    assert "has passed" in html and "Boa noite" in html and '<details class="scheduled-edit" open>' in html


def test_cancel_removes_it_and_nothing_is_sent(agent_client, agent, ticket):
    message = ticket_reply(
        ticket=ticket, by=agent, body="Bom dia", send_at=timezone.now() + timedelta(hours=1)
    )

    response = post(agent_client, "scheduled-cancel", ticket.pk, message.pk)

    assert response.status_code == 200 and f"scheduled-{message.pk}" not in response.content.decode()
    assert not Message.objects.filter(pk=message.pk).exists()


def test_a_message_gone_out_is_no_longer_edited_or_cancelled(agent_client, agent, ticket):
    message = ticket_reply(
        ticket=ticket, by=agent, body="Bom dia", send_at=timezone.now() + timedelta(hours=1)
    )
    Message.objects.filter(pk=message.pk).update(status="sent")
    when = local_input(timezone.now() + timedelta(hours=3))

    post(agent_client, "scheduled-edit", ticket.pk, message.pk, data={"body": "outro", "send_at": when})
    post(agent_client, "scheduled-cancel", ticket.pk, message.pk)

    message.refresh_from_db()
    assert (message.body, message.status) == ("Bom dia", "sent")


def test_another_queues_agent_gets_404(client, agent, ticket):
    message = ticket_reply(
        ticket=ticket, by=agent, body="Bom dia", send_at=timezone.now() + timedelta(hours=1)
    )
    outsider = UserFactory()
    QueueFactory().members.add(outsider)
    client.force_login(outsider)

    answers = [
        client.get(reverse("ticket-scheduled", args=[ticket.pk])).status_code,
        client.post(reverse("scheduled-edit", args=[ticket.pk, message.pk]), {"body": "x"}).status_code,
        client.post(reverse("scheduled-cancel", args=[ticket.pk, message.pk])).status_code,
    ]

    assert answers == [404, 404, 404]
    assert Message.objects.get(pk=message.pk).body == "Bom dia"
