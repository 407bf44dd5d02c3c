"""What the session is handed to send: the provider's typed OutboundMessage, made from the queued rows."""

import pytest

from tests.factories import MessageFactory, TicketFactory
from tickets.media import media_check
from tickets.models import Message
from tickets.outbound import (
    message_mark_failed,
    message_mark_sent,
    message_send,
    outbound_file,
    outbound_pending,
)
from whatsapp.wire import OutboundMedia, OutboundMessage

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n" + b"x" * 100


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.usefixtures("media_root")
def test_queued_messages_are_handed_over_typed_oldest_first(agent):
    ticket = TicketFactory(contact__wa_id="5511988887777@c.us")
    question = MessageFactory(ticket=ticket, wa_id="false_5511988887777@c.us_ABC")
    text = message_send(ticket=ticket, author=agent, body="Olá", quoted=question)
    pdf = media_check(data=PDF, filename="boleto.pdf", declared_type="application/pdf")
    file = message_send(ticket=ticket, author=agent, body="Segue", media=pdf)

    pending = outbound_pending(connection_id=ticket.connection_id)

    assert pending == [
        OutboundMessage(id=text.pk, chat="5511988887777@c.us", body="Olá", quoted_id=question.wa_id),
        OutboundMessage(
            id=file.pk,
            chat="5511988887777@c.us",
            body="Segue",
            media=OutboundMedia(
                path=file.media.name,
                kind=Message.Kind.DOCUMENT,
                mimetype="application/pdf",
                filename="boleto.pdf",
                voice=False,
            ),
        ),
    ]
    assert outbound_file(media=pending[1].media) == PDF


def test_the_result_is_recorded_by_the_rows_id(agent):
    ticket = TicketFactory()
    sent, failed = (message_send(ticket=ticket, author=agent, body=body) for body in ("um", "dois"))

    message_mark_sent(message_id=sent.pk, wa_id="true_x_1")
    message_mark_failed(message_id=failed.pk, error="refused")

    sent.refresh_from_db()
    failed.refresh_from_db()
    assert (sent.status, sent.wa_id, failed.status, failed.error) == ("sent", "true_x_1", "failed", "refused")
    assert outbound_pending(connection_id=ticket.connection_id) == []
