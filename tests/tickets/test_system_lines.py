"""System lines are read in each reader's language, the lines written before events included."""

import importlib
from datetime import timedelta

from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.audit.stale import tickets_close_stale
from tickets.models import Message
from tickets.services import ticket_accept, ticket_transfer

PORTUGUESE = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _conversation(client, ticket, **language) -> str:
    return client.get(reverse("ticket", args=[ticket.pk]), **language).content.decode()


def test_each_reader_reads_what_happened_in_their_own_language(staff_client, settings):
    settings.LANGUAGE_CODE = "en"
    ana = UserFactory(first_name="Ana", last_name="Lima")
    bruno = UserFactory(first_name="Bruno", last_name="")
    ticket = TicketFactory(last_message_at=timezone.now() - timedelta(hours=30))
    ticket_accept(ticket=ticket, by=ana)
    ticket_transfer(ticket=ticket, queue=QueueFactory(name="Vendas"), assignee=bruno, by=ana)
    tickets_close_stale(before=timezone.now() - timedelta(hours=24), ignore_waiting=False)

    portuguese = _conversation(staff_client, ticket, **PORTUGUESE)
    english = _conversation(staff_client, ticket, **ENGLISH)

    assert "Ana Lima atendeu o ticket" in portuguese
    assert "Ana Lima transferiu para Vendas, Bruno" in portuguese
    assert "Encerrado pela auditoria: sem mensagens há 30 h" in portuguese
    assert "Ana Lima accepted the ticket" in english
    assert "Closed by the audit: no message for 30 h" in english
    # A live page fetches the lines an event names (by id), in its reader's language too.
    line = ticket.messages.order_by("pk").first()
    live = staff_client.get(reverse("ticket-message", args=[ticket.pk, line.pk]), **PORTUGUESE)
    assert "Ana Lima atendeu o ticket" in live.content.decode()
    # The API and the search read one text, in the helpdesk's language.
    assert list(ticket.messages.values_list("body", flat=True)) == [
        "Ana Lima accepted the ticket",
        "Ana Lima transferred to Vendas, Bruno",
        "Closed by the audit: no message for 30 h",
    ]


def test_the_lines_written_before_are_read_again_in_each_language(staff_client):
    ticket = TicketFactory()
    for body in [
        "Ana accepted the ticket",
        "O helpdesk encerrou o ticket",
        "Ana transferiu para Vendas, Bruno",
        "Encerrado pela auditoria: sem mensagens há 26 h",
        "Something no version wrote",
    ]:
        MessageFactory(ticket=ticket, kind=Message.Kind.SYSTEM, body=body, from_me=True)

    migration = importlib.import_module("tickets.migrations.0011_message_event")
    migration.parse_old_lines(apps, None)

    portuguese = _conversation(staff_client, ticket, **PORTUGUESE)
    english = _conversation(staff_client, ticket, **ENGLISH)
    assert "Ana atendeu o ticket" in portuguese
    assert "Encerrado pela auditoria: sem mensagens há 26 h" in portuguese
    assert "The helpdesk closed the ticket" in english
    assert "Ana transferred to Vendas, Bruno" in english
    assert "Closed by the audit: no message for 26 h" in english
    assert "Something no version wrote" in english
    assert "Something no version wrote" in portuguese
