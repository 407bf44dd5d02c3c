"""A webhook pointing inside (private, loopback, link-local, mapped) is refused when saved."""

import datetime
import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django_q.models import Schedule

from tests.factories import ConnectionFactory
from tests.whatsapp.webhook_helpers import Receiver
from whatsapp.models import WebhookDelivery
from whatsapp.webhooks import webhook_deliver


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "[::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
        "[::7f00:1]",  # IPv4-compatible 127.0.0.1
        "[::ffff:0:7f00:1]",  # IPv4-translated 127.0.0.1
        "[64:ff9b::7f00:1]",  # NAT64: the gateway's own 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64: the cloud's metadata service, 169.254.169.254
        "[fec0::1]",  # site-local: not global unicast
        "[2002:7f00:1::1]",  # 6to4 through 127.0.0.1
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo to 192.0.2.45
    ],
)
def test_an_internal_target_is_refused_when_saved(api, host):
    connection = ConnectionFactory()

    response = api(
        "PUT", f"connections/{connection.pk}/webhook", {"url": f"http://{host}/hook", "secret": "s"}
    )

    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.webhook_url == ""


@pytest.mark.parametrize("host", ["[64:ff9b::808:808]", "[2002:808:808::1]", "[2606:4700::1111]"])
def test_an_ipv6_target_is_judged_by_the_ipv4_it_carries_or_as_global_unicast(api, host):
    connection = ConnectionFactory()

    response = api("PUT", f"connections/{connection.pk}/webhook", {"url": f"https://{host}/hook"})

    assert response.status_code == 200


@pytest.mark.parametrize("port", ["99999", "0"])
def test_a_port_that_is_none_is_refused_naming_it(api, port):
    connection = ConnectionFactory()

    response = api("PUT", f"connections/{connection.pk}/webhook", {"url": f"http://example.com:{port}/"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"webhook_url": ["Refused: a port is a number from 1 to 65535"]}


def test_a_public_target_is_saved(api):
    connection = ConnectionFactory()

    response = api(
        "PUT", f"connections/{connection.pk}/webhook", {"url": "https://93.184.216.34/hook", "secret": "s"}
    )

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.webhook_url == "https://93.184.216.34/hook"


def test_private_targets_are_allowed_for_development(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    connection = ConnectionFactory()

    assert (
        api(
            "PUT", f"connections/{connection.pk}/webhook", {"url": "http://127.0.0.1:9/h", "secret": "s"}
        ).status_code
        == 200
    )


# -- at delivery: one resolution, every address checked, the connection made to the checked one ----------

PUBLIC = "93.184.216.34"
HOOK_HOST = "hooks.example.test"
ENVELOPE = {"id": "8a6e0804-2bd0-4672-b79a-d97f6e07c2b7", "event": "ticket.closed", "payload": {}}


@pytest.fixture
def local_receiver():
    """A real HTTP server on 127.0.0.1: what must never be reached, or what a pinned delivery reaches."""
    made = Receiver([])
    yield made
    made.close()


@pytest.fixture
def resolver(monkeypatch):
    """Answers HOOK_HOST with the next list of addresses given (the last one repeats) and counts the
    lookups; any other name goes to the real resolver."""
    real = socket.getaddrinfo
    state = {"answers": [], "lookups": 0}

    def getaddrinfo(host, port, *args, **kwargs):
        if host != HOOK_HOST:
            return real(host, port, *args, **kwargs)
        state["lookups"] += 1
        answer = state["answers"][min(state["lookups"], len(state["answers"])) - 1]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in answer
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


@pytest.fixture
def no_internet(monkeypatch):
    """Connections to PUBLIC are refused here (tests never leave loopback) and recorded."""
    real = socket.create_connection
    attempts = []

    def create_connection(address, *args, **kwargs):
        if address[0] == PUBLIC:
            attempts.append(address)
            raise ConnectionRefusedError("not leaving loopback in tests")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.mark.django_db
def test_a_name_rebound_to_loopback_after_the_check_is_not_reached(
    settings, resolver, no_internet, local_receiver
):
    """DNS rebinding: checked as public, answering 127.0.0.1 on the next lookup. The delivery
    connects to the address that was checked; the local server receives nothing."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    port = local_receiver.server.server_port
    resolver["answers"] = [[PUBLIC], ["127.0.0.1"]]
    connection = ConnectionFactory(webhook_url=f"http://{HOOK_HOST}:{port}/hook", webhook_secret="s")

    assert webhook_deliver(connection.pk, ENVELOPE, 1) is False

    assert local_receiver.requests == []
    assert no_internet == [(PUBLIC, port)]
    assert resolver["lookups"] == 1


@pytest.mark.django_db
def test_a_name_with_a_public_and_a_loopback_address_is_refused(
    api, settings, resolver, no_internet, local_receiver
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    resolver["answers"] = [[PUBLIC, "127.0.0.1"]]
    url = f"http://{HOOK_HOST}:{local_receiver.server.server_port}/hook"
    connection = ConnectionFactory(webhook_url=url, webhook_secret="s")

    saved = api("PUT", f"connections/{connection.pk}/webhook", {"url": url, "secret": "s"})
    delivered = webhook_deliver(connection.pk, ENVELOPE, 1)

    assert saved.status_code == 400 and "127.0.0.1" in saved.json()["fields"]["webhook_url"][0]
    assert delivered is False
    assert "private or reserved address" in WebhookDelivery.objects.get().error
    assert (local_receiver.requests, no_internet) == ([], [])
    assert not Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").exists()  # refused for good


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::",
    ],
)
def test_an_internal_address_is_refused_at_delivery(settings, resolver, no_internet, address):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    resolver["answers"] = [[address]]
    connection = ConnectionFactory(webhook_url=f"https://{HOOK_HOST}/hook", webhook_secret="s")

    assert webhook_deliver(connection.pk, ENVELOPE, 1) is False

    assert (
        f"is {ipaddress.ip_address(address)}, a private or reserved address"
        in WebhookDelivery.objects.get().error
    )
    assert no_internet == []


@pytest.mark.django_db
def test_the_pinned_connection_keeps_the_url_host_in_the_host_header(settings, resolver, local_receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    resolver["answers"] = [["127.0.0.1"], ["192.0.2.1"]]
    port = local_receiver.server.server_port
    connection = ConnectionFactory(webhook_url=f"http://{HOOK_HOST}:{port}/hook?x=1", webhook_secret="s")

    assert webhook_deliver(connection.pk, ENVELOPE, 1) is True

    headers, _body = local_receiver.requests[0]
    assert headers["Host"] == f"{HOOK_HOST}:{port}"
    assert local_receiver.paths == ["/hook?x=1"]
    assert resolver["lookups"] == 1


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 with a certificate for HOOK_HOST only, trusted by the sender here;
    it records the name the client asked for (SNI)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOOK_HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOOK_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    made = Receiver([])
    names = []
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    server_side.sni_callback = lambda sock, server_name, context: names.append(server_name)
    made.server.socket = server_side.wrap_socket(made.server.socket, server_side=True)
    made.names = names
    trusting = ssl.create_default_context(cafile=str(cert_file))
    monkeypatch.setattr(ssl, "create_default_context", lambda *args, **kwargs: trusting)
    yield made
    made.close()


@pytest.mark.django_db
def test_https_to_the_pinned_address_asks_for_the_url_host_and_checks_its_certificate(
    settings, resolver, tls_receiver
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    resolver["answers"] = [["127.0.0.1"]]
    port = tls_receiver.server.server_port
    connection = ConnectionFactory(webhook_url=f"https://{HOOK_HOST}:{port}/hook", webhook_secret="s")

    assert webhook_deliver(connection.pk, ENVELOPE, 1) is True

    assert tls_receiver.names == [HOOK_HOST]
    assert tls_receiver.requests[0][0]["Host"] == f"{HOOK_HOST}:{port}"
