"""Webhooks against a real HTTP receiver on loopback."""

import hashlib
import hmac
import json

import pytest
from django_q.models import Schedule

from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tests.whatsapp.webhook_helpers import SECRET, run_tasks
from tickets.inbound import message_ingest
from whatsapp.models import WebhookDelivery
from whatsapp.webhooks import webhook_deliver

pytestmark = pytest.mark.django_db


def test_a_signed_event_is_retried_until_the_receiver_takes_it(
    receiver, queued, django_capture_on_commit_callbacks
):
    hook = receiver([500, 500, 200])
    connection = ConnectionFactory(webhook_url=hook.url, webhook_secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        message_ingest(connection=connection, message=inbound(1))
    events = [envelope["event"] for _, envelope, _ in queued]
    run_tasks([task for task in queued if task[1]["event"] == "message.received"])

    assert events == ["ticket.created", "message.received"]
    assert [d.status_code for d in WebhookDelivery.objects.order_by("attempt")] == [500, 500, 200]
    assert WebhookDelivery.objects.filter(delivered=True).count() == 1
    headers, body = hook.requests[-1]
    expected = (
        "sha256="
        + hmac.new(
            SECRET.encode(), headers["X-Helpdesk-Timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
    )
    assert headers["X-Helpdesk-Signature"] == expected
    envelope = json.loads(body)
    assert (envelope["event"], envelope["connection"]["id"], envelope["payload"]["body"]) == (
        "message.received",
        connection.pk,
        "Olá",
    )
    assert len({json.loads(b)["id"] for _, b in hook.requests}) == 1  # the same event each time


def test_a_replayed_message_sends_no_second_webhook(receiver, queued, django_capture_on_commit_callbacks):
    connection = ConnectionFactory(webhook_url=receiver().url, webhook_secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            message_ingest(connection=connection, message=inbound(1))

    assert [envelope["event"] for _, envelope, _ in queued].count("message.received") == 1


def test_link_local_and_private_addresses_are_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    connection = ConnectionFactory(webhook_url="http://169.254.169.254/latest/meta-data")
    envelope = {"id": "8a6e0804-2bd0-4672-b79a-d97f6e07c2b7", "event": "ticket.closed", "payload": {}}

    assert webhook_deliver(connection.pk, envelope, 1) is False

    delivery = WebhookDelivery.objects.get()
    assert "private or reserved address" in delivery.error
    assert not Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").exists()  # refused for good


def test_the_webhook_is_set_through_the_api_without_touching_the_session(api):
    connection = ConnectionFactory(status="CONNECTED")

    ok = api(
        "PUT", f"connections/{connection.pk}/webhook", {"url": "https://crm.example.com/hook", "secret": "x"}
    )
    bad = api("PUT", f"connections/{connection.pk}/webhook", {"url": "ftp://crm.example.com/hook"})

    assert ok.json() == {
        "id": connection.pk,
        "url": "https://crm.example.com/hook",
        "secret_set": True,
        "secret": None,
    }
    assert bad.status_code == 400
    connection.refresh_from_db()
    assert (connection.status, connection.command) == ("CONNECTED", "")
