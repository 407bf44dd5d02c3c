"""The outbox (tickets/outbound.py): what the session is handed to send, the provider's typed
OutboundMessage made from the queued rows, and the bookkeeping it records after each send."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import MessageFactory, TicketFactory, UserFactory
from tickets.media import media_check
from tickets.models import Message
from tickets.outbound import (
    message_ack,
    message_mark_failed,
    message_mark_sent,
    message_send,
    note_add,
    outbound_file,
    outbound_pending,
)
from whatsapp.wire import OutboundMedia, OutboundMessage, client_message_id

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


Status = Message.Status


@pytest.fixture
def events(monkeypatch):
    """What the agents' pages are told (the bus itself is tested in tests/tickets/test_inbox_live.py)."""
    sent = []
    monkeypatch.setattr("tickets.outbound.ticket_event", lambda **event: sent.append(event))
    return sent


def reply(ticket, *, status: str = Status.SENT, wa_id: str = "", **fields) -> Message:
    return MessageFactory(ticket=ticket, from_me=True, status=status, wa_id=wa_id, **fields)


def test_the_client_message_id_is_fixed_per_row_and_shaped_like_whatsapp_webs():
    message = reply(TicketFactory(), status=Status.QUEUED)

    assert client_message_id(message.pk) == f"3EB0{message.pk:016X}"
    assert client_message_id(255) == "3EB000000000000000FF"


def test_only_queued_replies_of_this_connection_are_pending_oldest_first(events):
    ticket, elsewhere = TicketFactory(), TicketFactory()
    agent = UserFactory()
    first = message_send(ticket=ticket, author=agent, body="primeiro")
    note_add(ticket=ticket, author=agent, body="a note is never sent")
    reply(ticket, status=Status.SENT, wa_id="true_x_1")
    MessageFactory(ticket=ticket, status=Status.QUEUED, kind=Message.Kind.SYSTEM, from_me=True)
    MessageFactory(ticket=ticket, status=Status.QUEUED, from_me=False)
    message_send(ticket=elsewhere, author=agent, body="other connection")
    second = message_send(ticket=ticket, author=agent, body="segundo")

    assert [m.id for m in outbound_pending(connection_id=ticket.connection_id)] == [first.pk, second.pk]


def test_a_sent_reply_gets_its_whatsapp_id_and_becomes_the_tickets_last_message(events):
    ticket = TicketFactory(last_message_preview="Olá", last_message_at=timezone.now() - timedelta(hours=1))
    queued = reply(ticket, status=Status.QUEUED, body="Oi Maria", error="offline")

    message_mark_sent(message_id=queued.pk, wa_id="true_5511988887777@c.us_3EB0")

    queued.refresh_from_db()
    ticket.refresh_from_db()
    assert (queued.status, queued.wa_id, queued.error) == (Status.SENT, "true_5511988887777@c.us_3EB0", "")
    assert (ticket.last_message_preview, ticket.last_message_at, ticket.last_outbound_at) == (
        "Oi Maria",
        queued.created_at,
        queued.created_at,
    )
    assert events == [
        {"ticket": ticket, "event_type": "message.status", "message": queued.pk, "status": Status.SENT}
    ]


def test_a_reply_that_cannot_be_sent_is_marked_failed_with_the_reason(events):
    queued = reply(TicketFactory(), status=Status.QUEUED)

    message_mark_failed(message_id=queued.pk, error="Chat not found")

    queued.refresh_from_db()
    assert (queued.status, queued.error) == (Status.FAILED, "Chat not found")
    assert [(e["message"], e["status"]) for e in events] == [(queued.pk, Status.FAILED)]
    assert outbound_pending(connection_id=queued.connection_id) == []


def test_a_negative_ack_marks_only_that_connections_message_failed():
    ticket, other = TicketFactory(), TicketFactory()
    refused = reply(ticket, wa_id="true_x_1")
    same_id_elsewhere = reply(other, wa_id="true_x_1")
    untouched = reply(ticket, wa_id="true_x_2")

    changed = message_ack(connection=ticket.connection, wa_ids=["true_x_1"], ack=-1)

    assert changed == 1
    statuses = {m.pk: (m.status, m.error) for m in Message.objects.filter(from_me=True)}
    assert statuses == {
        refused.pk: (Status.FAILED, "WhatsApp refused the message"),
        same_id_elsewhere.pk: (Status.SENT, ""),
        untouched.pk: (Status.SENT, ""),
    }


@pytest.mark.parametrize(
    ("before", "ack", "after"),
    [
        (Status.SENT, 2, Status.DELIVERED),
        (Status.SENT, 3, Status.READ),
        (Status.SENT, 4, Status.READ),  # played (a voice message): read
        (Status.QUEUED, 2, Status.DELIVERED),  # the ack came before our own mark
        (Status.DELIVERED, 3, Status.READ),
        (Status.READ, 2, Status.READ),  # never back
        (Status.DELIVERED, 2, Status.DELIVERED),
        (Status.SENT, 1, Status.SENT),  # 1 is "on the server": sent already says so
        (Status.SENT, 0, Status.SENT),
        (Status.FAILED, 3, Status.FAILED),
    ],
)
def test_an_ack_moves_a_message_forward_only(events, before, ack, after):
    message = reply(TicketFactory(), status=before, wa_id="true_x_1")

    changed = message_ack(connection=message.connection, wa_ids=["true_x_1", "true_x_unknown"], ack=ack)

    message.refresh_from_db()
    assert message.status == after
    assert changed == (1 if after != before else 0)
    assert [e["status"] for e in events] == ([after] if after != before else [])


def test_the_connections_webhook_hears_of_each_sent_reply_and_each_ack(
    monkeypatch, events, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("whatsapp.webhooks.async_task", lambda func, *args: queued.append(args[1]))
    ticket = TicketFactory(connection__webhook_url="https://crm.example.com/hook")
    message = reply(ticket, status=Status.QUEUED, body="Oi")

    with django_capture_on_commit_callbacks(execute=True):
        message_mark_sent(message_id=message.pk, wa_id="true_x_1")
        message_ack(connection=ticket.connection, wa_ids=["true_x_1"], ack=3)

    assert [(e["event"], e["payload"]["id"], e["payload"]["status"]) for e in queued] == [
        ("message.sent", message.pk, Status.SENT),
        ("message.ack", message.pk, Status.READ),
    ]
    assert {e["connection"]["id"] for e in queued} == {ticket.connection_id}
