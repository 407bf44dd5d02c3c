"""Which language a person reads: their own choice, else their browser's; records in LANGUAGE_CODE."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from helpdesk.models import ApiToken
from helpdesk.selectors import preferences_of
from helpdesk.services import preferences_update
from tests.factories import MessageFactory, TicketFactory, UserFactory
from tickets.audit.stale import tickets_close_stale
from tickets.models import Message, Ticket
from tickets.services import ticket_accept

PORTUGUESE = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9,en;q=0.5"}


def test_the_browsers_language_is_used_when_the_user_chose_none(agent_client):
    assert "Caixa de entrada" in agent_client.get(reverse("inbox"), **PORTUGUESE).content.decode()
    page = agent_client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Caixa de entrada" not in page
    assert "Inbox" in page


def test_a_visitor_signs_in_in_their_browsers_language(client, db):
    assert "Usuário" in client.get(reverse("login"), **PORTUGUESE).content.decode()


def test_choosing_english_on_the_preferences_page_sticks_over_a_portuguese_browser(agent_client, agent):
    assert "Preferências" in agent_client.get(reverse("preferences"), **PORTUGUESE).content.decode()

    response = agent_client.post(
        reverse("preferences"), {"language": "en", "signature": "on"}, follow=True, **PORTUGUESE
    )

    assert "Your preferences are saved." in response.content.decode()
    assert "Inbox" in agent_client.get(reverse("inbox"), **PORTUGUESE).content.decode()
    saved = preferences_of(user=agent)
    assert (saved.language, saved.signature, saved.notifications_muted) == ("en", True, False)


def test_the_saved_language_follows_the_user_to_a_new_sign_in(client, db):
    user = UserFactory(username="ana")
    preferences_update(user=user, language="en")

    client.post(reverse("login"), {"username": "ana", "password": "agent-password"}, **PORTUGUESE)

    assert "Inbox" in client.get(reverse("inbox"), **PORTUGUESE).content.decode()


def test_choosing_the_browsers_language_again_forgets_the_choice(agent_client, agent):
    agent_client.post(reverse("preferences"), {"language": "en"}, **PORTUGUESE)
    agent_client.post(reverse("preferences"), {"language": ""}, **PORTUGUESE)

    assert "Caixa de entrada" in agent_client.get(reverse("inbox"), **PORTUGUESE).content.decode()
    assert preferences_of(user=agent).language == ""


def test_the_preferences_page_is_for_signed_in_users_only(client, db):
    response = client.get(reverse("preferences"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_profile_menu_leads_to_the_preferences(agent_client):
    page = agent_client.get(reverse("home")).content.decode()

    assert f'href="{reverse("preferences")}"' in page


def test_dates_and_numbers_follow_the_language(agent_client, agent, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    ticket = TicketFactory(assignee=agent, status="open")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2026, 3, 7, 17, 5, tzinfo=UTC))

    portuguese = agent_client.get(reverse("ticket", args=[ticket.pk]), **PORTUGUESE).content.decode()
    english = agent_client.get(
        reverse("ticket", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "07/03/2026 14:05" in portuguese
    assert "03/07/2026 2:05 p.m." in english


def test_the_apis_errors_speak_the_callers_language(client, staff):
    _token, key = ApiToken.issue(user=staff)

    def message(**headers) -> str:
        return client.get("/api/tickets/999999", HTTP_AUTHORIZATION=f"Bearer {key}", **headers).json()[
            "message"
        ]

    assert message() == "No ticket 999999."
    assert message(**PORTUGUESE) == "Não existe ticket 999999."
    assert client.get("/api/tickets/1", **PORTUGUESE).json()["message"].startswith("Envie Authorization")


@pytest.mark.django_db
def test_system_lines_and_the_audits_lines_are_written_in_language_code(settings):
    """Whoever's request writes them, the text the API reads is in the helpdesk's language (pages write
    system lines out in each reader's: tests/tickets/test_system_lines.py)."""
    settings.LANGUAGE_CODE = "pt-br"
    agent = UserFactory(first_name="Ana", last_name="")
    accepted = TicketFactory()
    stale = TicketFactory(last_message_at=timezone.now() - timedelta(hours=30))

    with translation.override("en"):
        ticket_accept(ticket=accepted, by=agent)
        tickets_close_stale(before=timezone.now() - timedelta(hours=24), ignore_waiting=False)

    assert Message.objects.get(ticket=accepted).body == "Ana atendeu o ticket"
    assert Message.objects.get(ticket=stale).body == "Encerrado pela auditoria: sem mensagens há 30 h"


def test_portuguese_reads_a_closed_ticket_as_encerrado_and_its_tab_as_encerrados(staff_client):
    ticket = TicketFactory(status=Ticket.Status.CLOSED)

    page = staff_client.get(reverse("ticket", args=[ticket.pk]), **PORTUGUESE).content.decode()

    assert '<span class="status">Encerrado</span>' in page
    assert re.search(r'data-tab="closed">\s*Encerrados', page)


def test_a_ticket_that_just_started_waiting_reads_less_than_a_minute(staff_client):
    TicketFactory(status=Ticket.Status.PENDING, waiting_since=timezone.now())

    portuguese = staff_client.get(reverse("inbox") + "?tab=waiting", **PORTUGUESE).content.decode()
    english = staff_client.get(reverse("inbox") + "?tab=waiting", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "aguardando há menos de um minuto" in portuguese
    assert "0 minuto" not in portuguese
    assert "waiting less than a minute" in english


def test_portuguese_writes_the_months_in_lower_case(agent_client, agent, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    ticket = TicketFactory(assignee=agent, status="open")
    message = MessageFactory(ticket=ticket)
    Message.objects.filter(pk=message.pk).update(created_at=datetime(2026, 12, 7, 15, 0, tzinfo=UTC))

    page = agent_client.get(reverse("ticket", args=[ticket.pk]), **PORTUGUESE).content.decode()

    assert "7 de dezembro de 2026" in page
    assert "Dezembro" not in page


def test_a_new_connection_starts_with_the_greeting_and_farewell_in_the_helpdesks_language(
    staff_client, settings
):
    settings.LANGUAGE_CODE = "pt-br"

    page = staff_client.get(reverse("connection-new"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Add a connection" in page
    assert "Obrigado pelo contato, {{name}}! O número do seu atendimento é {{protocol}}." in page
    assert "Thank you" not in page
