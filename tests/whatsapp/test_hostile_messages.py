"""Hostile messages through a live session (simulator, worker, Chromium): it stays connected, nothing is lost."""

import base64

import pytest

from tests.factories import QueueFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket
from whatsapp.models import Connection, ConnectionEvent, DeadLetter

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "5511800001009"  # this test's own company number: the simulator keeps every phone's history
CUSTOMER = "5511988880109"
PDF = base64.b64encode(b"%PDF-1.4 hostile").decode()


def send(simulator, body: str = "", *, media: dict | None = None, fields: dict | None = None) -> str:
    payload = {
        "account": PHONE,
        "from": CUSTOMER,
        "name": "Mallory",
        "body": body,
        "media": media,
        "fields": fields,
    }
    status, answer = simulator.post("/_sim/messages", {key: value for key, value in payload.items() if value})
    assert status == 201, answer
    return answer["id"]


def document(name: str, mimetype: str = "application/pdf") -> dict:
    return {"mimetype": mimetype, "filename": name, "data": PDF}


def test_hostile_messages_neither_restart_the_session_nor_hold_up_the_next_one(engine, simulator, tmp_path):
    engine.start_worker(MEDIA_ROOT=str(tmp_path / "media"))
    connection = engine.connected(PHONE)
    connection.queues.add(QueueFactory(name="Vendas", ordering=1), QueueFactory(name="Suporte", ordering=2))
    first = send(simulator, "oi")  # a new ticket with two queues: the menu goes out, answers are read
    wait_until(lambda: Ticket.objects.exclude(menu_sent_at=None).exists(), timeout=20, message="the menu")

    hostile = [
        send(simulator, "²"),
        send(simulator, "¹"),
        send(simulator, media=document("..")),
        send(simulator, media=document("../x")),
        send(simulator, media=document("a" * 300 + ".pdf")),
        send(simulator, media=document("é" * 200, mimetype="x/" + "y" * 300)),
        send(simulator, "a\x00b", fields={"type": "sticker-pack", "t": "soon", "notifyName": 5}),
    ]
    unstorable = send(
        simulator, "no chat", fields={"from": "../../x"}
    )  # no WhatsApp id: kept as a dead letter
    ordinary = send(simulator, "tudo bem?")

    stored = wait_until(
        lambda: Message.objects.filter(wa_id=ordinary).first(), timeout=30, message="the next one"
    )
    assert stored.ticket == Message.objects.get(wa_id=first).ticket
    assert Message.objects.filter(wa_id__in=hostile).count() == len(hostile)
    letter = DeadLetter.objects.get()
    assert (letter.wa_id, letter.chat, letter.payload["body"]) == (unstorable, "", "no chat")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    starts = connection.events.filter(kind=ConnectionEvent.Kind.STATE, to_status=Connection.Status.STARTING)
    assert starts.count() == 1  # the first start: no restart
    errors = connection.events.filter(kind=ConnectionEvent.Kind.ERROR)
    assert list(errors.values_list("data", flat=True)) == [
        {"dead_letter": letter.pk}
    ]  # the only error: said so
    assert stored.ticket.queue is None  # "²" and "¹" are no menu answers
    sticker = Message.objects.get(wa_id=hostile[-1])
    assert sticker.body.startswith("[unsupported message: sticker-pack]") and "\x00" not in sticker.body
    files = Message.objects.filter(wa_id__in=hostile[2:6]).order_by("id")
    assert [len(m.filename.encode()) <= 255 and bool(m.media) for m in files] == [True] * 4
    assert files.last().mimetype == "application/octet-stream"
