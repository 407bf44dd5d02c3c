"""Webhooks: each connection's events, signed and delivered to its URL, with retries.

An event is emitted when the change that causes it commits; a django-q2 task
delivers it (``webhook_deliver``). A failed attempt is retried, the delay
doubling from WEBHOOK_RETRY_BASE, up to WEBHOOK_MAX_ATTEMPTS; every attempt is
a ``WebhookDelivery`` row. The receiver checks

    X-Helpdesk-Signature: sha256=HMAC-SHA256(secret, f"{X-Helpdesk-Timestamp}.{body}")

Only http and https are called, never following redirects, and never an
address in a private, loopback, link-local or otherwise reserved range unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: a webhook must not reach inside.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from whatsapp.models import Connection, WebhookDelivery

EVENTS = [
    "message.received",
    "message.sent",
    "message.ack",
    "ticket.created",
    "ticket.closed",
    "connection.status",
    "audit.critical",
]


class BlockedAddress(Exception):
    pass


def webhook_emit(*, connection: Connection, event: str, payload: dict) -> None:
    """Queue ``event`` for the connection's webhook once the current transaction commits."""
    if not connection.webhook_url:
        return
    envelope = {
        "id": str(uuid.uuid4()),
        "event": event,
        "timestamp": timezone.now().isoformat(),
        "connection": {"id": connection.pk, "name": connection.name, "phone": connection.phone},
        "payload": payload,
    }
    envelope = json.loads(json.dumps(envelope, cls=DjangoJSONEncoder))
    transaction.on_commit(
        lambda: async_task("whatsapp.webhooks.webhook_deliver", connection.pk, envelope, 1), robust=True
    )


def webhook_deliver(connection_id: int, envelope: dict, attempt: int) -> bool:
    """The task: one attempt; schedules the next one when it fails. True when delivered."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.webhook_url:
        return False
    body = json.dumps(envelope, separators=(",", ":")).encode()
    started = time.monotonic()
    status_code, error = None, ""
    try:
        check_address(connection.webhook_url)
        status_code = post(connection.webhook_url, body, secret=connection.webhook_secret, event=envelope)
    except BlockedAddress as blocked:
        error = str(blocked)
    except urllib.error.HTTPError as failure:
        status_code = failure.code
    except (urllib.error.URLError, OSError, ValueError) as failure:
        error = str(getattr(failure, "reason", failure))
    delivered = status_code is not None and 200 <= status_code < 300
    WebhookDelivery.objects.create(
        connection=connection,
        event_id=envelope["id"],
        event=envelope["event"],
        envelope=envelope,
        url=connection.webhook_url,
        attempt=attempt,
        status_code=status_code,
        error=error,
        delivered=delivered,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if not delivered and attempt < settings.WEBHOOK_MAX_ATTEMPTS and not error.startswith("Refused"):
        delay = settings.WEBHOOK_RETRY_BASE * 2 ** (attempt - 1)
        schedule(
            "whatsapp.webhooks.webhook_deliver",
            connection_id,
            envelope,
            attempt + 1,
            schedule_type=Schedule.ONCE,
            repeats=1,
            next_run=timezone.now() + timedelta(seconds=delay),
            name=f"webhook {envelope['id']} attempt {attempt + 1}",
        )
    return delivered


def webhook_redeliver(*, delivery: WebhookDelivery) -> None:
    """Send an event again, as a new first attempt (the admin's "redeliver")."""
    async_task("whatsapp.webhooks.webhook_deliver", delivery.connection_id, delivery.envelope, 1)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_address(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("Refused: only http and https URLs are called")
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    for info in socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP):
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise BlockedAddress(f"Refused: {parts.hostname} is {address}, a private or reserved address")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is an answer, not an invitation to call another address


def post(url: str, body: bytes, *, secret: str, event: dict) -> int:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "helpdesk-webhooks/1",
        "X-Helpdesk-Event": event["event"],
        "X-Helpdesk-Delivery": event["id"],
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": signature(secret, timestamp, body),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects)
    with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
        return response.status
