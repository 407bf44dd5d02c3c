"""Files customers send are stored under a safe name, whatever the name they chose."""

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from whatsapp.wire import download_failed, download_read

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def document(number: int, filename, mimetype="application/pdf", data: bytes = b"%PDF-1.4 hello"):
    message = inbound(
        number, type="document", body="", filename=filename, mimetype=mimetype, size=len(data), isMedia=True
    )
    reply = {
        "mimetype": mimetype,
        "size": len(data),
        "data": base64.b64encode(data).decode(),
    }  # the bridge's answer
    return replace(message, download=download_read(reply))


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../x",
        "../../../../etc/passwd",
        "/etc/passwd",
        "a\\..\\..\\b.pdf",
        "x" * 300 + ".pdf",
        "ção" * 100 + ".pdf",
        "😀" * 80,
        "!!!",
        "...",
        "\x00",
        "con.pdf",
        "a/",
        " ",
    ],
)
def test_a_document_with_a_hostile_name_is_stored_inside_the_media_folder(media_root, name):
    connection = ConnectionFactory()

    stored = message_ingest(connection=connection, message=document(1, name))

    path = Path(stored.media.path).resolve()
    assert path.is_relative_to(media_root.resolve()) and path.read_bytes() == b"%PDF-1.4 hello"
    assert len(path.name.encode()) <= 255
    assert ".." not in Path(stored.media.name).parts
    assert len(stored.filename.encode()) <= 255 and "/" not in stored.filename


def test_the_same_long_name_twice_gets_two_files(media_root):
    connection = ConnectionFactory()
    name = "relatório-" + "x" * 400 + ".pdf"

    first = message_ingest(connection=connection, message=document(1, name))
    second = message_ingest(connection=connection, message=document(2, name, data=b"%PDF-1.4 other"))

    assert first.media.name != second.media.name
    assert Path(second.media.path).read_bytes() == b"%PDF-1.4 other"
    assert first.filename.endswith(".pdf") and first.filename.startswith("relatório-")


def test_an_absurd_mime_type_is_stored_as_octet_stream_and_a_plain_name_is_generated(media_root):
    connection = ConnectionFactory()

    stored = message_ingest(connection=connection, message=document(1, "", mimetype="x/" + "y" * 300))

    assert stored.mimetype == "application/octet-stream"
    assert Path(stored.media.name).name.startswith("file-MSG000001")


def test_a_file_is_stored_under_its_ticket(media_root):
    connection = ConnectionFactory()

    stored = message_ingest(connection=connection, message=document(1, "invoice.pdf"))

    assert stored.ticket_id is not None
    assert Path(stored.media.name).parent == Path(f"messages/{connection.pk}/{stored.ticket_id}")


def test_the_files_of_a_failed_attempt_are_removed(media_root, monkeypatch):
    """The rows roll back, so the files written for them go too: nothing on disk that no message points to."""
    import tickets.inbound

    def fail(*args, **kwargs):
        raise RuntimeError("after the file was written")

    monkeypatch.setattr(tickets.inbound, "_react", fail)
    connection = ConnectionFactory()

    with pytest.raises(RuntimeError):
        message_ingest(connection=connection, message=document(1, "invoice.pdf"))

    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_a_failed_download_is_stored_as_a_message_saying_why_with_no_file(media_root):
    photo = inbound(1, type="image", body="", caption="a foto", mimetype="image/png", size=2048, isMedia=True)
    failed = replace(photo, download=download_failed("Not downloaded: the page timed out"))

    message = message_ingest(connection=ConnectionFactory(), message=failed)

    message.refresh_from_db()
    assert (message.kind, message.caption, message.mimetype, message.size) == (
        "image",
        "a foto",
        "image/png",
        2048,
    )
    assert message.error == "Not downloaded: the page timed out"
    assert not message.media
    assert not media_root.exists() or not any(media_root.rglob("*.*"))
    assert message.ticket.last_message_preview == "a foto"
