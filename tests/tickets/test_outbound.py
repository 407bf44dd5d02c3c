"""The outbox (tickets/outbound.py): what the session is handed to send, the provider's typed
OutboundMessage made from the queued rows, and the bookkeeping it records after each send."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from helpdesk.realtime import session_group
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
    message = reply(ticket, status=Status.QUEUED, body="Oi", error="offline")  # an earlier attempt failed

    with django_capture_on_commit_callbacks(execute=True):
        message_mark_sent(message_id=message.pk, wa_id="true_x_1")
        message_ack(connection=ticket.connection, wa_ids=["true_x_1"], ack=3)

    assert [(e["event"], e["payload"]["id"], e["payload"]["status"]) for e in queued] == [
        ("message.sent", message.pk, Status.SENT),
        ("message.ack", message.pk, Status.READ),
    ]
    assert {e["connection"]["id"] for e in queued} == {ticket.connection_id}
    assert queued[0]["payload"]["error"] == ""  # sent now: the earlier failure is gone


def test_a_reply_is_queued_as_the_agents_and_the_pages_are_told_of_it(events):
    ticket = TicketFactory()
    agent = UserFactory()
    question = MessageFactory(ticket=ticket, wa_id="false_5511988887777@c.us_ABC")

    sent = message_send(ticket=ticket, author=agent, body="Já volto", quoted=question)

    row = Message.objects.get(pk=sent.pk)
    assert (row.from_me, row.author, row.quoted, row.connection) == (True, agent, question, ticket.connection)
    assert (row.kind, row.body, row.caption, row.status, row.voice) == (
        "text",
        "Já volto",
        "",
        "queued",
        False,
    )
    assert events == [{"ticket": ticket, "event_type": "message.new", "message": row.pk, "status": "queued"}]


@pytest.mark.usefixtures("media_root")
def test_a_file_is_queued_with_its_caption_and_a_recording_as_a_voice_message(agent):
    ticket = TicketFactory()
    pdf = media_check(data=PDF, filename="boleto.pdf", declared_type="application/pdf")
    voice = media_check(data=b"OggS" + b"\x00" * 60, filename="gravação.ogg", declared_type="audio/ogg")

    document = message_send(ticket=ticket, author=agent, body="Segue", media=pdf)
    recording = message_send(ticket=ticket, author=agent, media=voice, voice=True)

    rows = Message.objects.filter(pk__in=[document.pk, recording.pk]).order_by("id")
    assert [(m.kind, m.body, m.caption, m.voice, m.filename, m.size) for m in rows] == [
        ("document", "", "Segue", False, "boleto.pdf", len(PDF)),
        ("audio", "", "", True, "gravação.ogg", 64),
    ]
    assert rows[1].media.name.endswith(".ogg") and rows[1].media.read() == voice.data
    pending = outbound_pending(connection_id=ticket.connection_id)
    assert [(m.body, m.media.voice) for m in pending] == [("Segue", False), ("", True)]


def test_a_reply_quoting_a_message_without_a_whatsapp_id_goes_without_a_quote(agent):
    ticket = TicketFactory()
    unsent = message_send(ticket=ticket, author=agent, body="primeiro")

    message_send(ticket=ticket, author=agent, body="segundo", quoted=unsent)

    assert [m.quoted_id for m in outbound_pending(connection_id=ticket.connection_id)] == ["", ""]


def test_handing_the_queue_over_costs_one_query_however_long_it_is(agent, django_assert_num_queries):
    ticket = TicketFactory()
    question = MessageFactory(ticket=ticket, wa_id="false_x_1")
    for n in range(5):
        message_send(ticket=ticket, author=agent, body=f"r{n}", quoted=question)

    with django_assert_num_queries(1):
        pending = outbound_pending(connection_id=ticket.connection_id)

    assert [(m.chat, m.quoted_id) for m in pending] == [(ticket.contact.wa_id, "false_x_1")] * 5


def test_a_note_is_the_agents_shown_at_once_and_never_sent(events):
    ticket = TicketFactory()
    agent = UserFactory()

    note = note_add(ticket=ticket, author=agent, body="cliente VIP")

    row = Message.objects.get(pk=note.pk)
    assert (row.from_me, row.author, row.kind, row.body, row.status) == (
        True,
        agent,
        "note",
        "cliente VIP",
        "sent",
    )
    assert events == [{"ticket": ticket, "event_type": "message.new", "message": row.pk, "status": "sent"}]
    assert outbound_pending(connection_id=ticket.connection_id) == []


def test_a_failed_send_marks_only_that_reply(agent):
    ticket = TicketFactory()
    refused, waiting = (message_send(ticket=ticket, author=agent, body=b) for b in ("um", "dois"))

    message_mark_failed(message_id=refused.pk, error="Chat not found")

    assert [m.id for m in outbound_pending(connection_id=ticket.connection_id)] == [waiting.pk]


def test_an_ack_moves_only_the_messages_it_names_on_its_connection(events):
    ticket, other = TicketFactory(), TicketFactory()
    named = [reply(ticket, wa_id="true_x_1"), reply(ticket, wa_id="true_x_2")]
    not_named = reply(ticket, wa_id="true_x_3")
    same_id_elsewhere = reply(other, wa_id="true_x_1")

    changed = message_ack(connection=ticket.connection, wa_ids=["true_x_1", "true_x_2"], ack=3)

    assert changed == 2
    statuses = dict(Message.objects.filter(from_me=True).values_list("pk", "status"))
    assert statuses == {
        named[0].pk: Status.READ,
        named[1].pk: Status.READ,
        not_named.pk: Status.SENT,
        same_id_elsewhere.pk: Status.SENT,
    }


def test_a_late_mark_never_moves_a_delivered_reply_back_nor_tells_anyone_twice(events):
    queued = reply(TicketFactory(), status=Status.QUEUED)
    message_mark_sent(message_id=queued.pk, wa_id="true_x_1")
    message_ack(connection=queued.connection, wa_ids=["true_x_1"], ack=2)
    events.clear()

    message_mark_sent(message_id=queued.pk, wa_id="true_x_1")  # the echo, heard after the ack

    queued.refresh_from_db()
    assert (queued.status, events) == (Status.DELIVERED, [])


def test_marking_a_reply_sent_removes_only_its_own_echo_stored_by_an_earlier_version(agent):
    ticket = TicketFactory()
    greeting = reply(ticket, wa_id="true_x_greeting")  # the helpdesk's own message: no author
    queued = message_send(ticket=ticket, author=agent, body="Oi")
    wa_id = f"true_{ticket.contact.wa_id}_{client_message_id(queued.pk)}"
    reply(ticket, wa_id=wa_id)  # the echo an earlier version stored as a message of its own
    elsewhere = reply(TicketFactory(), wa_id=wa_id)  # another number's message that happens to share it

    message_mark_sent(message_id=queued.pk, wa_id=wa_id)
    message_mark_sent(message_id=greeting.pk, wa_id="true_x_greeting")  # the greeting's echo, late

    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {greeting.pk, queued.pk, elsewhere.pk}


@pytest.mark.parametrize(
    ("later", "told"),
    [(None, {"type": "session.wake"}), (3600, {"type": "session.wake", "schedule_changed": True})],
    ids=["queued", "scheduled"],
)
def test_a_reply_wakes_its_connections_session_at_once(
    agent, channel_layer, django_capture_on_commit_callbacks, later, told
):
    """A scheduled one says so: the session reads its schedule again only then (or at the time it knows)."""
    ticket = TicketFactory()
    send_at = later and timezone.now() + timedelta(seconds=later)

    def send() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            message_send(ticket=ticket, author=agent, body="Oi", send_at=send_at)

    assert session_told(channel_layer, ticket.connection_id, send) == told


def session_told(channel_layer, connection_id: int, action) -> dict:
    """What the connection's running session hears on the bus when ``action`` runs."""
    channel = async_to_sync(channel_layer.new_channel)()
    async_to_sync(channel_layer.group_add)(session_group(connection_id), channel)
    action()

    async def heard():
        return await asyncio.wait_for(channel_layer.receive(channel), timeout=5)

    return async_to_sync(heard)()
