"""Sessions that only look alive (issue 19): WhatsApp Web says "connected" while its stream is dead.

End to end: the simulator freezes an account (``POST /_sim/freeze``): its open pages keep saying
connected, but receive nothing and get no answer to anything they ask or send. The session's probe
(a round trip to WhatsApp's servers at every heartbeat) or a reply without an acknowledgement makes
it leave CONNECTED, say why in the connection's log, and restart its browser on the same profile:
back without a QR, it imports what was written meanwhile, once. The settings are shortened here
(heartbeat 1 s, as in every engine test; probe 2 s; acknowledgement 3 s); the default arithmetic is
checked without a browser.
"""

import time

import pytest
from django.urls import reverse

from tests.factories import StaffFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.outbound import message_send
from whatsapp.models import Connection
from whatsapp.simulator.world import WEB_VERSION

pytestmark = pytest.mark.django_db(transaction=True)
Status = Connection.Status
CUSTOMER = "5511977776666"
QUICK = {"WHATSAPP_PROBE_TIMEOUT": "2", "WHATSAPP_AUTH_TIMEOUT": "15"}


def connected(engine, phone: str) -> Connection:
    connection = engine.connected(phone)
    engine.let_login_settle(connection)  # the restart must find the login in the profile
    return connection


def write(simulator, phone: str, body: str) -> None:
    status, answer = simulator.post(
        "/_sim/messages", {"account": phone, "from": CUSTOMER, "name": "Maria", "body": body}
    )
    assert status == 201, answer


def freeze(simulator, phone: str, frozen: bool) -> None:
    assert simulator.post("/_sim/freeze", {"account": phone, "frozen": frozen}) == (200, {"frozen": frozen})


def left_connected(engine, connection: Connection, *, timeout: float) -> None:
    engine.wait_for_status(connection, Status.DISCONNECTED, Status.STARTING, timeout=timeout)


def statuses_since(connection: Connection, event_id: int) -> list[str]:
    events = connection.events.filter(pk__gt=event_id).order_by("at", "id")
    return [status for status in events.values_list("to_status", flat=True) if status]


def test_a_frozen_session_leaves_connected_and_comes_back_without_a_qr_with_what_was_written_once(
    engine, simulator, phone
):
    engine.start_worker(**QUICK)
    connection = connected(engine, phone)
    assert connection.web_version == WEB_VERSION  # recorded as the page reports it
    write(simulator, phone, "antes")
    wait_until(lambda: Message.objects.filter(body="antes").exists(), message="the first message")
    last_event = connection.events.order_by("-id").values_list("id", flat=True).first()

    freeze(simulator, phone, True)
    frozen_at = time.monotonic()
    write(simulator, phone, "durante 1")
    write(simulator, phone, "durante 2")
    reply = message_send(ticket=Ticket.objects.get(), author=StaffFactory(), body="Oi Maria")
    left_connected(engine, connection, timeout=30)
    took = time.monotonic() - frozen_at
    freeze(simulator, phone, False)

    assert took < 1 + 2 + 5, took  # a heartbeat, the probe's timeout, and the machine's slack
    assert connection.events.filter(
        to_status=Status.DISCONNECTED, message="WhatsApp stopped answering: no answer within 2 s"
    ).exists()
    engine.wait_for_status(connection, Status.CONNECTED, timeout=60)
    wait_until(
        lambda: Message.objects.filter(body__startswith="durante").count() == 2,
        timeout=20,
        message="the messages of the frozen time",
    )
    assert Status.QR not in statuses_since(connection, last_event)  # the login was kept
    bodies = list(Message.objects.filter(from_me=False).order_by("id").values_list("body", flat=True))
    assert bodies == ["antes", "durante 1", "durante 2"]  # each once, in order
    connection.refresh_from_db()
    assert connection.last_error == ""
    # The reply was out when the probe found WhatsApp silent: flagged for the agent, not sent again.
    reply.refresh_from_db()
    assert (reply.status, reply.error) == (
        Message.Status.FAILED,
        "Not delivered: WhatsApp did not acknowledge it",
    )
    assert simulator.get(f"/_sim/outbox?account={phone}")["messages"] == []


def test_a_reply_without_an_ack_is_flagged_not_delivered_and_a_retry_from_the_ticket_sends_it_once(
    engine, simulator, phone, client
):
    # The probe is slower than the acknowledgement here: the reply is what finds WhatsApp silent.
    engine.start_worker(
        WHATSAPP_PROBE_TIMEOUT="60", WHATSAPP_SEND_ACK_TIMEOUT="3", WHATSAPP_AUTH_TIMEOUT="15"
    )
    connection = connected(engine, phone)
    write(simulator, phone, "Olá")
    wait_until(lambda: Ticket.objects.exists(), message="the ticket")
    agent = StaffFactory()
    freeze(simulator, phone, True)

    reply = message_send(ticket=Ticket.objects.get(), author=agent, body="Oi Maria")

    wait_until(
        lambda: Message.objects.get(pk=reply.pk).status == Message.Status.FAILED,
        timeout=30,
        message="the reply flagged",
    )
    reply.refresh_from_db()
    assert reply.error == "Not delivered: WhatsApp did not acknowledge it"
    left_connected(engine, connection, timeout=10)
    assert connection.events.filter(
        message="WhatsApp stopped answering: a reply got no acknowledgement within 3 s"
    ).exists()
    freeze(simulator, phone, False)
    engine.wait_for_status(connection, Status.CONNECTED, timeout=60)
    assert [m["body"] for m in simulator.get(f"/_sim/outbox?account={phone}")["messages"]] == []
    assert Message.objects.get(pk=reply.pk).status == Message.Status.FAILED  # not sent again on its own

    client.force_login(agent)
    page = client.post(reverse("message-retry", args=[reply.ticket_id, reply.pk]))

    assert page.status_code == 200
    wait_until(
        lambda: Message.objects.get(pk=reply.pk).status == Message.Status.SENT,
        timeout=20,
        message="the retried reply",
    )
    outbox = simulator.get(f"/_sim/outbox?account={phone}")["messages"]
    assert [m["body"] for m in outbox] == ["Oi Maria"]
