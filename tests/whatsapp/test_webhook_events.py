"""Every webhook event, sent by the real change that causes it to a real receiver on loopback: its
headers, a signature that the receiver's check of docs/webhooks.md accepts, no redirect followed,
Redeliver, and every retry's delay."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory, UserFactory
from tests.tickets.audit_helpers import audit
from tests.tickets.test_inbound import CUSTOMER, inbound
from tests.whatsapp.webhook_helpers import SECRET, run_tasks
from tickets.inbound import message_ingest
from tickets.message_changes import message_change_ingest
from tickets.models import Message, Ticket
from tickets.outbound import message_ack, message_mark_sent, message_send
from tickets.services import ticket_close
from tickets.sla import sla_watch
from whatsapp.models import Connection, WebhookDelivery
from whatsapp.services import connection_transition
from whatsapp.webhooks import EVENTS, webhook_deliver
from whatsapp.wire import inbound_change

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def receiver_check() -> callable:
    """The receiver's check exactly as docs/webhooks.md prints it."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    return namespace["webhook_is_genuine"]


def _received(connection):
    message_ingest(connection=connection, message=inbound(1))


def _sent(connection):
    ticket = TicketFactory(connection=connection)
    message_mark_sent(message_id=message_send(ticket=ticket, author=None, body="Oi").pk, wa_id="true_x_OUT1")


def _acked(connection):
    ticket = TicketFactory(connection=connection)
    message = message_send(ticket=ticket, author=None, body="Oi")
    Message.objects.filter(pk=message.pk).update(wa_id="true_x_OUT1", status=Message.Status.SENT)
    message_ack(connection=connection, wa_ids=["true_x_OUT1"], ack=3)


def _changed(connection):
    message_ingest(connection=connection, message=inbound(1))
    wa_id = Message.objects.get().wa_id
    change = inbound_change(
        "chat.new_reaction",
        {"id": "false_x_R", "msgId": wa_id, "reactionText": "👍", "sender": CUSTOMER, "fromMe": False},
    )
    message_change_ingest(connection=connection, change=change)


def _closed(connection):
    ticket_close(
        ticket=TicketFactory(connection=connection),
        by=None,
        reason=Ticket.CloseReason.API,
        send_farewell=False,
    )


def _sla_breached(connection):
    queue = QueueFactory(sla_first_response_minutes=60)
    connection.queues.add(queue)  # its only queue: the ticket starts there, its answer due in an hour
    at = timezone.now() - timedelta(minutes=90)
    message_ingest(connection=connection, message=inbound(1, t=int(at.timestamp())))
    sla_watch()


def _rated(connection):
    Connection.objects.filter(pk=connection.pk).update(csat_enabled=True)
    connection.csat_enabled = True
    ticket = message_ingest(connection=connection, message=inbound(1)).ticket
    ticket_close(ticket=ticket, by=UserFactory(), reason=Ticket.CloseReason.AGENT, send_farewell=False)
    message_ingest(connection=connection, message=inbound(2, body="5"))


def _status(connection):
    connection_transition(connection=connection, to=Connection.Status.CONNECTED, message="scanned")


def _audit(connection):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.FAILED, last_error="crashed")
    audit("--save")


CAUSES = {
    "message.received": (_received, lambda payload: payload["body"] == "Olá"),
    "ticket.created": (_received, lambda payload: payload["status"] == "pending"),
    "message.sent": (_sent, lambda payload: (payload["status"], payload["wa_id"]) == ("sent", "true_x_OUT1")),
    "message.ack": (_acked, lambda payload: payload["status"] == "read"),
    "message.changed": (
        _changed,
        lambda payload: payload["reactions"] == [{"emoji": "👍", "from_me": False}],
    ),
    "ticket.closed": (_closed, lambda payload: payload["status"] == "closed"),
    "ticket.sla_breached": (_sla_breached, lambda payload: payload["sla_breached"] is True),
    "ticket.rated": (
        _rated,
        lambda payload: (
            (payload["status"], payload["csat_rating"], payload["csat_comment"]) == ("closed", 5, "")
        ),
    ),
    "connection.status": (
        _status,
        lambda payload: payload == {"from": "STOPPED", "to": "CONNECTED", "message": "scanned"},
    ),
    "audit.critical": (_audit, lambda payload: any("crashed" in finding for finding in payload["findings"])),
}


def test_every_event_has_a_cause_here():
    assert sorted(CAUSES) == sorted(EVENTS)


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_reaches_the_receiver_signed(event, receiver, queued, django_capture_on_commit_callbacks):
    hook = receiver()
    connection = ConnectionFactory(webhook_url=hook.url, webhook_secret=SECRET)
    cause, payload_is_right = CAUSES[event]

    with django_capture_on_commit_callbacks(execute=True):
        cause(connection)
    run_tasks([task for task in queued if task[1]["event"] == event])

    [(headers, body)] = hook.requests
    envelope = json.loads(body)
    assert envelope["event"] == headers["X-Helpdesk-Event"] == event
    assert envelope["id"] == headers["X-Helpdesk-Delivery"]
    assert envelope["connection"] == {"id": connection.pk, "name": connection.name, "phone": connection.phone}
    assert payload_is_right(envelope["payload"]), envelope["payload"]
    assert (headers["Content-Type"], headers["User-Agent"]) == ("application/json", "helpdesk-webhooks/1")
    assert abs(int(headers["X-Helpdesk-Timestamp"]) - timezone.now().timestamp()) < 60
    assert receiver_check()(SECRET, headers, body)
    assert not receiver_check()("another secret", headers, body)
    assert WebhookDelivery.objects.get().delivered


def test_the_documented_check_refuses_a_replay_and_a_changed_body(
    receiver, queued, django_capture_on_commit_callbacks
):
    hook = receiver()
    connection = ConnectionFactory(webhook_url=hook.url, webhook_secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        _status(connection)
    run_tasks(queued)
    [(headers, body)] = hook.requests
    check = receiver_check()

    old = {**headers, "X-Helpdesk-Timestamp": str(int(headers["X-Helpdesk-Timestamp"]) - 3600)}
    assert check(SECRET, headers, body)
    assert not check(SECRET, old, body)
    assert not check(SECRET, headers, body.replace(b"scanned", b"scannex"))


def test_a_redirect_is_not_followed_and_the_attempt_is_retried(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    elsewhere = receiver()
    hook = receiver([(302, {"Location": elsewhere.url}), (307, {"Location": elsewhere.url})])
    connection = ConnectionFactory(webhook_url=hook.url, webhook_secret=SECRET)
    envelope = {"id": "8a6e0804-2bd0-4672-b79a-d97f6e07c2b7", "event": "ticket.closed", "payload": {}}

    assert webhook_deliver(connection.pk, envelope, 1) is False
    assert Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").count() == 1  # retried
    run_tasks([])

    assert elsewhere.requests == []
    assert [(d.status_code, d.delivered) for d in WebhookDelivery.objects.order_by("attempt")] == [
        (302, False),
        (307, False),
    ]


def test_redeliver_in_the_admin_sends_the_same_event_again(receiver, queued, staff_client):
    hook = receiver([500])
    connection = ConnectionFactory(webhook_url=hook.url, webhook_secret=SECRET)
    envelope = {"id": "8a6e0804-2bd0-4672-b79a-d97f6e07c2b7", "event": "ticket.closed", "payload": {"id": 3}}
    webhook_deliver(connection.pk, envelope, 1)
    Schedule.objects.all().delete()  # the automatic retry is not what is tested here
    failed = WebhookDelivery.objects.get()

    response = staff_client.post(
        reverse("admin:whatsapp_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [failed.pk]},
    )
    run_tasks(queued)

    assert response.status_code == 302
    assert queued == [(connection.pk, envelope, 1)]
    assert [json.loads(body) for _, body in hook.requests] == [envelope, envelope]
    assert [(d.attempt, d.delivered) for d in WebhookDelivery.objects.order_by("id")] == [
        (1, False),
        (1, True),
    ]


def test_every_retry_waits_twice_as_long_as_the_one_before(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_RETRY_BASE = 5, 10
    connection = ConnectionFactory(webhook_url=receiver([500] * 5).url, webhook_secret=SECRET)
    envelope = {"id": "8a6e0804-2bd0-4672-b79a-d97f6e07c2b7", "event": "ticket.closed", "payload": {}}

    delays, attempt = [], 1
    webhook_deliver(connection.pk, envelope, attempt)
    while retry := Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").first():
        tried_at = WebhookDelivery.objects.get(attempt=attempt).at
        delays.append(round((retry.next_run - tried_at).total_seconds()))
        assert retry.args.endswith(f"{attempt + 1})")  # the next attempt's number
        retry.delete()
        attempt += 1
        webhook_deliver(connection.pk, envelope, attempt)

    assert delays == [10, 20, 40, 80]
    assert WebhookDelivery.objects.count() == 5  # and no sixth attempt is scheduled
