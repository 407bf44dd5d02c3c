"""Messages through the real engine: simulator phones, worker processes, Chromium."""

import base64
import http.client
from urllib.parse import urlsplit

import pytest

from contacts.models import Contact
from tests.processes import wait_until
from tickets.media import media_check
from tickets.models import Message, Ticket
from tickets.outbound import message_send
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)
CUSTOMER = "5511988887777"


def write(simulator, phone: str, body: str, sender: str = CUSTOMER) -> str:
    status, answer = simulator.post(
        "/_sim/messages", {"account": phone, "from": sender, "name": "Maria", "body": body}
    )
    assert status == 201, answer
    return answer["id"]


def stored_bodies() -> list[str]:
    return list(Message.objects.filter(from_me=False).order_by("id").values_list("body", flat=True))


def test_fifty_messages_of_one_chat_are_stored_in_order(engine, simulator, phone):
    engine.start_worker()
    engine.connected(phone)

    sent = [write(simulator, phone, f"message {n}") for n in range(50)]

    wait_until(lambda: Message.objects.count() == 50, timeout=60, message="50 messages")
    assert stored_bodies() == [f"message {n}" for n in range(50)]
    assert list(Message.objects.order_by("id").values_list("wa_id", flat=True)) == sent
    assert Ticket.objects.get().unread_count == 50


def test_messages_sent_while_the_worker_was_down_are_imported_once(engine, simulator, phone):
    engine.start_worker()
    connection = engine.connected(phone)
    write(simulator, phone, "before")
    wait_until(lambda: Message.objects.count() == 1, message="the first message")
    engine.let_login_settle(connection)
    engine.workers[0].stop()
    engine.wait_for_status(connection, Connection.Status.DISCONNECTED)

    for n in range(20):
        write(simulator, phone, f"while away {n}", sender=f"55119777{n:05d}" if n % 2 else CUSTOMER)
    engine.start_worker()

    engine.wait_for_status(connection, Connection.Status.CONNECTED)
    wait_until(lambda: Message.objects.count() == 21, timeout=30, message="21 messages")
    assert sorted(stored_bodies()) == sorted(["before", *[f"while away {n}" for n in range(20)]])
    report = connection.events.filter(message="Imported 20 messages that arrived while disconnected")
    wait_until(
        report.exists, timeout=10, message="the catch-up's report"
    )  # written once its last batch is in


def test_a_reply_reaches_the_phone_and_its_acks_come_back(engine, simulator, agent, phone):
    engine.start_worker()
    engine.connected(phone)
    write(simulator, phone, "Olá")
    wait_until(lambda: Ticket.objects.exists(), message="the ticket")

    reply = message_send(ticket=Ticket.objects.get(), author=agent, body="Oi Maria, como posso ajudar?")

    def sent():
        reply.refresh_from_db()
        return reply.status == "sent"

    wait_until(sent, timeout=20, message="the reply to be sent")
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["id"], m["to"], m["body"]) for m in outbox] == [
        (reply.wa_id, f"{CUSTOMER}@c.us", "Oi Maria, como posso ajudar?")
    ]
    simulator.post("/_sim/ack", {"account": phone, "id": reply.wa_id, "ack": 3})
    wait_until(lambda: Message.objects.get(pk=reply.pk).status == "read", message="the read ack")


def test_a_reply_queued_while_disconnected_is_sent_once_after_reconnecting(engine, simulator, agent, phone):
    engine.start_worker()
    connection = engine.connected(phone)
    write(simulator, phone, "Olá")
    wait_until(lambda: Ticket.objects.exists(), message="the ticket")
    simulator.post("/_sim/network", {"account": phone, "online": False})
    engine.wait_for_status(connection, Connection.Status.DISCONNECTED)

    reply = message_send(ticket=Ticket.objects.get(), author=agent, body="Já volto")
    simulator.post("/_sim/network", {"account": phone, "online": True})

    engine.wait_for_status(connection, Connection.Status.CONNECTED)
    wait_until(
        lambda: Message.objects.get(pk=reply.pk).status == "sent", timeout=20, message="the queued reply"
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [m["body"] for m in outbox].count("Já volto") == 1


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8).decode()


def send_image(simulator, phone: str, *, download_seconds: float = 0) -> str:
    status, answer = simulator.post(
        "/_sim/messages",
        {
            "account": phone,
            "from": CUSTOMER,
            "name": "Maria",
            "body": "a foto",
            "media": {
                "mimetype": "image/png",
                "filename": "foto.png",
                "data": PNG,
                "delay": download_seconds,
            },
        },
    )
    assert status == 201, answer
    return answer["id"]


def test_an_image_is_downloaded_and_stored_with_its_details(engine, simulator, phone, settings, tmp_path):
    engine.start_worker(MEDIA_ROOT=str(tmp_path / "media"))
    engine.connected(phone)

    send_image(simulator, phone)

    message = wait_until(lambda: Message.objects.first(), timeout=20, message="the image")
    assert (message.kind, message.caption, message.mimetype, message.filename) == (
        "image",
        "a foto",
        "image/png",
        "foto.png",
    )
    assert message.size == len(base64.b64decode(PNG))
    assert (tmp_path / "media" / message.media.name).read_bytes() == base64.b64decode(PNG)


def test_a_slow_download_in_one_chat_does_not_hold_up_another_chat(engine, simulator, phone, tmp_path):
    engine.start_worker(MEDIA_ROOT=str(tmp_path / "media"))
    engine.connected(phone)

    photo = send_image(simulator, phone, download_seconds=3)
    other = write(simulator, phone, "another customer", sender="5511977776666")
    after = write(simulator, phone, "and this one too")  # the photo's chat: waits for the photo

    wait_until(lambda: Message.objects.count() == 3, timeout=30, message="three messages")
    assert list(Message.objects.order_by("id").values_list("wa_id", flat=True)) == [other, photo, after]
    assert Message.objects.get(wa_id=photo).media


def test_media_over_the_limit_is_kept_as_a_message_saying_so(engine, simulator, phone):
    engine.start_worker(WHATSAPP_MAX_MEDIA_MB="0.001")  # about 1 KB
    engine.connected(phone)

    send_image(simulator, phone)

    message = wait_until(lambda: Message.objects.first(), timeout=20, message="the image")
    assert not message.media
    assert "over the 0.001 MB limit" in message.error
    assert message.caption == "a foto"


def test_the_api_writes_to_a_new_number_and_refuses_one_without_whatsapp(engine, simulator, phone, api):
    engine.start_worker()
    connection = engine.connected(phone)

    nobody = api(
        "POST", f"connections/{connection.pk}/messages", {"to": "5531988880000", "body": "Oi"}
    )  # no factory makes it
    sent = api("POST", f"connections/{connection.pk}/messages", {"to": "5511955554444", "body": "Promoção!"})

    assert (nobody.status_code, nobody.json()["error_code"]) == (422, "NOT_ON_WHATSAPP")
    assert sent.status_code == 201
    wait_until(
        lambda: Message.objects.get(pk=sent.json()["id"]).status == "sent", timeout=20, message="the send"
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["to"], m["body"]) for m in outbox] == [("5511955554444@c.us", "Promoção!")]


def test_a_file_and_a_quoted_reply_reach_the_phone(engine, simulator, phone, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the worker reads what this process stored
    engine.start_worker(MEDIA_ROOT=str(tmp_path / "media"))
    engine.connected(phone)
    question = write(simulator, phone, "Tem o boleto?")
    received = wait_until(lambda: Message.objects.filter(wa_id=question).first(), message="the question")
    pdf = media_check(
        data=b"%PDF-1.7\n" + b"x" * 2000, filename="boleto.pdf", declared_type="application/pdf"
    )

    with_file = message_send(ticket=received.ticket, author=agent, body="Segue", media=pdf)
    quoting = message_send(ticket=received.ticket, author=agent, body="Está aí em cima", quoted=received)

    wait_until(
        lambda: Message.objects.filter(pk__in=[with_file.pk, quoting.pk], status="sent").count() == 2,
        timeout=20,
        message="both sent",
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [(m["body"], m.get("media"), m["quoted"]) for m in outbox] == [
        ("Segue", {"mimetype": "application/pdf", "filename": "boleto.pdf", "size": 2009}, ""),
        ("Está aí em cima", None, question),
    ]


def test_the_profile_picture_is_asked_for_once_a_day_not_per_message(engine, simulator, phone):
    engine.start_worker()
    engine.connected(phone)

    write(simulator, phone, "um")
    contact = wait_until(
        lambda: Contact.objects.exclude(avatar_fetched_at=None).first(), message="the picture"
    )
    first_check = contact.avatar_fetched_at
    write(simulator, phone, "dois")
    wait_until(lambda: Message.objects.count() == 2, message="the second message")

    contact.refresh_from_db()
    assert contact.avatar_url.endswith(f"/_sim/avatars/{CUSTOMER}.jpg")
    assert contact.avatar_fetched_at == first_check


def test_a_browser_keeps_the_picture_a_day_then_asks_again_with_its_etag(simulator):
    """The picture URL is served as a CDN serves a signed URL (docs/simulator.md, "Profile pictures"):
    an inbox shows the picture it has instead of downloading it again for every row it draws."""
    cdn = http.client.HTTPConnection(urlsplit(simulator.url).netloc, timeout=10)
    picture = f"/_sim/avatars/{CUSTOMER}.jpg"
    cdn.request("GET", picture)
    first = cdn.getresponse()
    body = first.read()

    cdn.request("GET", picture, headers={"If-None-Match": first.headers["ETag"]})
    again = cdn.getresponse()
    again_body = again.read()
    cdn.close()

    assert (first.status, first.headers["Content-Type"], body[:2]) == (200, "image/jpeg", b"\xff\xd8")
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    assert first.headers["Last-Modified"]
    assert (again.status, again_body, again.headers["ETag"]) == (304, b"", first.headers["ETag"])


def test_edits_and_deletions_made_while_the_worker_was_down_are_caught_up(engine, simulator, phone):
    """The catch-up reads them from the chat's history: an edit shows its new text, a deletion hides
    the message, and a message written and deleted meanwhile is stored deleted (never "[unsupported
    message: revoked]"); no row is added for a change."""
    engine.start_worker()
    connection = engine.connected(phone)
    edited, deleted = write(simulator, phone, "Quero 2 pizzas"), write(simulator, phone, "Meu CPF é 123")
    wait_until(lambda: Message.objects.count() == 2, message="the first messages")
    engine.let_login_settle(connection)
    engine.workers[0].stop()
    engine.wait_for_status(connection, Connection.Status.DISCONNECTED)

    change = {"account": phone, "from": CUSTOMER}
    assert simulator.post("/_sim/messages", {**change, "edit_of": edited, "body": "Quero 3 pizzas"})[0] == 201
    assert simulator.post("/_sim/messages", {**change, "revoke_of": deleted})[0] == 201
    gone = write(simulator, phone, "ops, número errado")
    assert simulator.post("/_sim/messages", {**change, "revoke_of": gone})[0] == 201
    write(simulator, phone, "Obrigada")
    engine.start_worker()

    wait_until(lambda: Message.objects.filter(body="Obrigada").exists(), timeout=60, message="the catch-up")
    wait_until(
        lambda: Message.objects.filter(wa_id=gone, deleted_at__isnull=False).exists(), message="the deletion"
    )
    assert Message.objects.count() == 4
    assert Message.objects.get(wa_id=edited).body == "Quero 3 pizzas"
    assert Message.objects.get(wa_id=edited).edited_at is not None
    assert Message.objects.get(wa_id=deleted).deleted_at is not None
    assert not Message.objects.filter(body__contains="unsupported").exists()
