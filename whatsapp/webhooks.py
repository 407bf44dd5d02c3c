"""Webhooks: each connection's events, signed and delivered to its URL, with retries.

An event is emitted when the change that causes it commits; a django-q2 task
delivers it (``webhook_deliver``). A failed attempt is retried, the delay
doubling from WEBHOOK_RETRY_BASE, up to WEBHOOK_MAX_ATTEMPTS; every attempt is
a ``WebhookDelivery`` row. The receiver checks

    X-Helpdesk-Signature: sha256=HMAC-SHA256(secret, f"{X-Helpdesk-Timestamp}.{body}")

Only http and https are called, never following redirects, and never an
address in a private, loopback, link-local or otherwise reserved range unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: a webhook must not reach inside. The
host is resolved once per attempt, every address checked, and the connection
made to the checked address (the Host header and TLS name stay the URL's).
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from helpdesk.languages import in_helpdesk_language
from whatsapp.models import Connection, WebhookDelivery

EVENTS = [
    "message.received",
    "message.sent",
    "message.ack",
    "message.changed",
    "ticket.created",
    "ticket.closed",
    "ticket.sla_breached",
    "ticket.rated",
    "connection.status",
    "audit.critical",
]


class BlockedAddress(Exception):
    """A target the helpdesk refuses to call. ``str()`` says why in the active language (the admin
    saving the URL reads it on the page or in the API's error); ``recorded`` in the helpdesk's
    (a delivery's error, read later by every admin)."""

    def __init__(self, text: str, **values: str) -> None:
        self.text, self.values = text, values  # text is marked with gettext_noop
        super().__init__(text % values)

    def __str__(self) -> str:
        return gettext(self.text) % self.values

    def recorded(self) -> str:
        return in_helpdesk_language(self.text, **self.values)


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
    status_code, error, refused = None, "", False
    try:
        target = target_resolve(connection.webhook_url)
        status_code = post(target, body, secret=connection.webhook_secret, event=envelope)
    except BlockedAddress as blocked:
        error, refused = blocked.recorded(), True
    except (OSError, ValueError, http.client.HTTPException) as failure:
        error = str(failure) or type(failure).__name__
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
    if not delivered and attempt < settings.WEBHOOK_MAX_ATTEMPTS and not refused:
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


def webhook_secret_new() -> str:
    """A secret for a webhook whose owner left it blank: an empty key would sign with nothing."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: the URL's parts and the one address that was checked, which is the
    address connected to (resolving the name again could answer another one: DNS rebinding)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def target_resolve(url: str) -> Target:
    """Resolve the URL's host once and check every address it has; raise BlockedAddress if one is
    not a global unicast address (an IPv4 address inside IPv6 is judged as IPv4), or if the port
    is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(gettext_noop("Refused: only http and https URLs are called"))
    try:
        port = parts.port  # ValueError beyond 65535
    except ValueError:
        port = 0
    if port == 0:
        raise BlockedAddress(gettext_noop("Refused: a port is a number from 1 to 65535"))
    port = port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    # A scoped IPv6 address ends in "%<zone>"; the zone is not part of the address judged.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not public(address):
                raise BlockedAddress(
                    gettext_noop("Refused: %(host)s is %(address)s, a private or reserved address"),
                    host=parts.hostname,
                    address=str(address),
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, str(addresses[0]))


def check_address(url: str) -> None:
    """Refuse an internal target (the form calls this when a webhook is saved)."""
    target_resolve(url)


GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # every other IPv6 block is local, special or unassigned
# IPv6 blocks whose last 32 bits are an IPv4 address a packet reaches: IPv4-compatible (::a.b.c.d),
# SIIT's IPv4-translated (::ffff:0:a.b.c.d) and NAT64's well-known prefix (64:ff9b::a.b.c.d).
CARRY_IPV4 = [ipaddress.IPv6Network(block) for block in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")]


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Only a global unicast address is called. An IPv6 address that carries an IPv4 one (mapped,
    compatible, translated, NAT64, 6to4, Teredo's server and client) is judged by what it carries:
    through a NAT64 gateway, 64:ff9b::7f00:1 is the gateway's own 127.0.0.1."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not address.is_multicast
    carried = [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for block in CARRY_IPV4 if address in block]
    carried += [ipv4 for ipv4 in (address.ipv4_mapped, address.sixtofour, *(address.teredo or ())) if ipv4]
    if carried:
        return all(public(ipv4) for ipv4 in carried)
    return address in GLOBAL_UNICAST and address.is_global


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``address`` while the Host header names the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address``; SNI and the certificate check use the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, *, secret: str, event: dict) -> int:
    """POST the event to the checked address; http.client follows no redirect (a 3xx is an
    answer like any other that is not 2xx: retried, never an invitation to call another address)."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "helpdesk-webhooks/1",
        "X-Helpdesk-Event": event["event"],
        "X-Helpdesk-Delivery": event["id"],
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": signature(secret, timestamp, body),
    }
    pinned = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(target, settings.WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()
