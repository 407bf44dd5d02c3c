"""A connection's log is a record, like a conversation's system lines: written once in the helpdesk's
language (LANGUAGE_CODE), whoever's request or session wrote it, and read so by every admin. Its
status changes and the refusal of a webhook URL are said in the reader's own language."""

import asyncio
import uuid

import pytest
from django.urls import reverse
from django.utils import translation
from django_q.models import Schedule

from tests.factories import ConnectionFactory
from whatsapp.lease import lease_renew
from whatsapp.models import Connection, WebhookDelivery
from whatsapp.outcomes import Outcome
from whatsapp.services import connection_connected, connection_create, connection_qr_shown
from whatsapp.webhooks import webhook_deliver

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
PORTUGUESE = {"HTTP_ACCEPT_LANGUAGE": "pt-BR,pt;q=0.9,en;q=0.5"}


@pytest.fixture
def portuguese_helpdesk(settings):
    settings.LANGUAGE_CODE = "pt-br"
    settings.WHATSAPP_QR_MAX_CODES = 5


def log_of(connection: Connection) -> list[str]:
    return list(connection.events.order_by("at", "id").values_list("message", flat=True))


@pytest.mark.django_db
def test_lines_written_for_an_english_speaking_admin_are_in_the_helpdesks_portuguese(
    portuguese_helpdesk, staff, staff_client
):
    with translation.override("en"):
        connection = connection_create(name="Vendas", enabled=False, by=staff)
    staff_client.post(reverse("connection-edit", args=[connection.pk]), {"name": "Vendas SP"}, **ENGLISH)
    connection.refresh_from_db()
    with translation.override("en"):
        connection_qr_shown(connection=connection, code="2@code")
        connection_connected(connection=connection, phone="5511999990001", restored=False)

    assert log_of(connection) == [
        "Conexão criada",
        "Configurações alteradas: nome",
        "Aguardando a leitura do QR code",
        "QR code 1 de 5",
        "Conectada como +55 11 99999-0001",
    ]
    english = staff_client.get(reverse("connection-detail", args=[connection.pk]), **ENGLISH).content.decode()
    portuguese = staff_client.get(
        reverse("connection-detail", args=[connection.pk]), **PORTUGUESE
    ).content.decode()
    assert "Conectada como +55 11 99999-0001" in english
    assert "Waiting for QR scan → Connected" in english  # a status change, in the reader's words
    assert "Aguardando leitura do QR → Conectada" in portuguese


@pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own
def test_the_sessions_own_lines_are_in_the_helpdesks_portuguese(portuguese_helpdesk, settings, session):
    settings.WHATSAPP_LEASE, settings.WHATSAPP_MAX_ATTEMPTS = 60, 1
    assert lease_renew(connection_id=session.connection_id, owner=session.owner)
    Connection.objects.filter(pk=session.connection_id).update(command=Connection.Command.RESTART)
    session.attempts = 1

    with translation.override("en"):  # whatever language the worker's thread runs in
        assert asyncio.run(session._check_orders()) == Outcome.RESTART
        assert asyncio.run(session._back_off()) == Outcome.FAILED

    connection = Connection.objects.get(pk=session.connection_id)
    assert log_of(connection) == ["Reinício pedido", "Desistiu após 1 tentativa"]


@pytest.mark.parametrize(
    ("headers", "field", "reason"),
    [
        (PORTUGUESE, "URL do webhook", "Recusado: 127.0.0.1 é 127.0.0.1, um endereço privado ou reservado"),
        (ENGLISH, "webhook URL", "Refused: 127.0.0.1 is 127.0.0.1, a private or reserved address"),
    ],
)
def test_a_refused_webhook_url_says_why_in_the_admins_language(api, staff_client, headers, field, reason):
    connection = ConnectionFactory()

    answer = api("PUT", f"connections/{connection.pk}/webhook", {"url": "http://127.0.0.1/hook"}, **headers)
    page = staff_client.post(
        reverse("connection-edit", args=[connection.pk]),
        {"name": connection.name, "webhook_url": "http://127.0.0.1/hook"},
        follow=True,
        **headers,
    ).content.decode()

    assert answer.json()["fields"]["webhook_url"] == [reason]
    assert f"{field}: {reason}" in page  # the field by its label, not its name (webhook_url)


@pytest.mark.django_db
def test_a_delivery_refused_is_recorded_in_the_helpdesks_language_and_not_retried(portuguese_helpdesk):
    connection = ConnectionFactory(webhook_url="http://127.0.0.1/hook", webhook_secret="s")

    with translation.override("en"):
        delivered = webhook_deliver(connection.pk, {"id": str(uuid.uuid4()), "event": "connection.status"}, 1)

    assert delivered is False
    assert (
        WebhookDelivery.objects.get().error
        == "Recusado: 127.0.0.1 é 127.0.0.1, um endereço privado ou reservado"
    )
    retries = Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver")
    assert not retries.exists()  # a refused target is not tried again, whatever the language
