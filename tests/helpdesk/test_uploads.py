"""Request bodies have a limit, and a file's size is checked while it is read, not once it is in memory."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.urls import reverse
from PIL import Image

from tests.factories import QueueFactory, TicketFactory
from tickets.models import Message

pytestmark = pytest.mark.django_db
LIMIT_MB = 0.0625  # 64 KiB of media
CHUNK = 64 * 2**10  # Django reads an upload in chunks of 64 KiB


@pytest.fixture
def small_limits(settings):
    settings.WHATSAPP_MAX_MEDIA_MB = LIMIT_MB
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 2**20  # the request may be large: the file's own limit acts


@pytest.fixture
def bytes_kept(monkeypatch):
    """How many bytes of uploaded files reached the handler that keeps them in memory."""
    kept = []
    original = MemoryFileUploadHandler.receive_data_chunk

    def receive(self, raw_data, start):
        kept.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", receive)
    return kept


def _pdf(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (size - 5), content_type="application/pdf")


def test_a_file_over_the_limit_is_stopped_while_it_is_read(api, small_limits, bytes_kept):
    ticket = TicketFactory()

    response = api(
        "POST", f"tickets/{ticket.pk}/messages", {"media": _pdf(2**20), "body": "Segue"}, multipart=True
    )

    assert response.status_code == 413
    assert response.json() == {
        "error_code": "MEDIA_TOO_LARGE",
        "message": "The file is larger than 0.0625 MB, the most WhatsApp takes: nothing was sent.",
    }
    assert sum(bytes_kept) <= 2 * CHUNK  # not the whole megabyte
    assert not Message.objects.exists()


def test_a_file_within_the_limit_is_sent(api, small_limits):
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", {"media": _pdf(CHUNK // 2)}, multipart=True)

    assert response.status_code == 201
    assert Message.objects.exclude(size=None).get().size == CHUNK // 2


def test_a_request_over_the_limit_is_refused_before_it_is_parsed(api, settings, bytes_kept):
    settings.WHATSAPP_MAX_MEDIA_MB, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT_MB, 2**10
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", {"media": _pdf(CHUNK * 2)}, multipart=True)

    assert (response.status_code, response.json()["error_code"]) == (413, "REQUEST_TOO_LARGE")
    assert bytes_kept == []


def test_a_json_body_over_the_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**10
    ticket = TicketFactory()

    response = api("POST", f"tickets/{ticket.pk}/messages", json.dumps({"body": "x" * 2**11}))

    assert (response.status_code, response.json()["error_code"]) == (413, "REQUEST_TOO_LARGE")
    assert response.json()["message"] == "The request is larger than 1.0\xa0KB: nothing was sent."


def test_the_composer_is_told_in_plain_words(agent_client, agent, small_limits, bytes_kept):
    queue = QueueFactory()
    queue.members.add(agent)
    ticket = TicketFactory(queue=queue)

    response = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]),
        {"media": _pdf(2**20), "body": "Segue"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 413
    assert response.content.decode() == (
        "The file is larger than 0.0625 MB, the most WhatsApp takes: nothing was sent."
    )
    assert sum(bytes_kept) <= 2 * CHUNK
    assert not Message.objects.exists()


def _gif() -> bytes:
    """A real GIF, made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, format="GIF")
    return out.getvalue()


@pytest.fixture
def send_file(api, agent_client, agent, settings, tmp_path):
    """Send one file to a new ticket through the API or through the ticket page's composer."""
    settings.MEDIA_ROOT = tmp_path

    def send(door: str, name: str, data: bytes, content_type: str):
        queue = QueueFactory()
        queue.members.add(agent)
        ticket = TicketFactory(queue=queue)
        upload = SimpleUploadedFile(name, data, content_type=content_type)
        if door == "api":
            return api("POST", f"tickets/{ticket.pk}/messages", {"media": upload}, multipart=True)
        return agent_client.post(
            reverse("ticket-reply", args=[ticket.pk]), {"media": upload}, headers={"HX-Request": "true"}
        )

    return send


@pytest.mark.parametrize("door", ["api", "composer"])
def test_a_file_named_in_500_bytes_is_sent_under_a_shorter_name(send_file, door):
    """250 two-byte characters: no filesystem keeps such a name ("File name too long", a 500)."""
    response = send_file(door, "é" * 250 + ".pdf", b"%PDF-1.7\n", "application/pdf")

    assert response.status_code in (200, 201)
    message = Message.objects.get(kind=Message.Kind.DOCUMENT)
    assert message.filename == "é" * 125 + ".pdf"  # 254 bytes, the extension kept
    assert message.media.read() == b"%PDF-1.7\n"
    assert len(message.media.name.rsplit("/", 1)[-1].encode()) <= 100


@pytest.mark.parametrize("door", ["api", "composer"])
def test_a_real_gif_is_sent_as_an_image(send_file, door):
    response = send_file(door, "risos.gif", _gif(), "image/gif")

    assert response.status_code in (200, 201)
    message = Message.objects.get(kind=Message.Kind.IMAGE)
    assert (message.mimetype, message.filename) == ("image/gif", "risos.gif")
