import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import TicketFactory
from tickets.media import MediaRefused, media_check
from tickets.models import Message
from tickets.outbound import note_add, outbound_pending

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


@pytest.mark.parametrize(
    ("data", "name", "declared", "kind", "mimetype"),
    [
        (JPEG, "photo.jpg", "image/jpeg", "image", "image/jpeg"),
        (JPEG, "no-extension", "", "image", "image/jpeg"),
        (PDF, "boleto.pdf", "application/pdf", "document", "application/pdf"),
        (b"OggS" + b"\0" * 50, "voice.ogg", "audio/ogg", "audio", "audio/ogg"),
        (b"name;phone\nAna;5511", "list.csv", "text/csv", "document", "text/csv"),
    ],
)
def test_files_are_typed_by_their_bytes(data, name, declared, kind, mimetype):
    checked = media_check(data=data, filename=name, declared_type=declared)

    assert (checked.kind, checked.mimetype) == (kind, mimetype)


@pytest.mark.parametrize(
    ("data", "name", "declared", "reason"),
    [
        (b"", "empty.txt", "text/plain", "empty"),
        (b"just text", "photo.jpg", "image/jpeg", "not a real image"),
        (b"just text", "photo.png", "", "not a real image"),
        (b"MZ\x90\x00", "invoice.pdf", "application/pdf", "Programs"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(data, name, declared, reason):
    with pytest.raises(MediaRefused, match=reason):
        media_check(data=data, filename=name, declared_type=declared)


def test_a_file_over_the_limit_is_refused_as_too_large(settings):
    settings.WHATSAPP_MAX_MEDIA_MB = 0.0001

    with pytest.raises(MediaRefused) as refused:
        media_check(data=JPEG * 10, filename="big.jpg")

    assert refused.value.too_large


@pytest.mark.django_db
def test_notes_are_kept_and_never_sent(agent):
    ticket = TicketFactory()

    note = note_add(ticket=ticket, author=agent, body="cliente VIP")

    assert note.kind == "note"
    assert list(outbound_pending(connection_id=ticket.connection_id)) == []


@pytest.mark.django_db
def test_files_through_the_api(api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = TicketFactory()

    def upload(data, name, content_type):
        return api(
            "POST",
            f"tickets/{ticket.pk}/messages",
            {"body": "veja", "media": SimpleUploadedFile(name, data, content_type=content_type)},
            multipart=True,
        )

    sent = upload(JPEG, "foto.jpg", "image/jpeg")
    fake = upload(b"text", "foto.jpg", "image/jpeg")
    settings.WHATSAPP_MAX_MEDIA_MB = 0.00001
    big = upload(JPEG, "foto.jpg", "image/jpeg")

    assert sent.status_code == 201
    assert (sent.json()["kind"], sent.json()["caption"], sent.json()["status"]) == ("image", "veja", "queued")
    assert (fake.status_code, fake.json()["error_code"]) == (400, "MEDIA_REFUSED")
    assert (big.status_code, big.json()["error_code"]) == (413, "MEDIA_TOO_LARGE")
    assert Message.objects.filter(from_me=True).exclude(kind=Message.Kind.SYSTEM).count() == 1


@pytest.mark.django_db
def test_a_note_and_a_quoted_reply_through_the_api(api):
    ticket = TicketFactory()
    received = Message.objects.create(
        ticket=ticket, connection=ticket.connection, wa_id="false_x_1", body="?"
    )

    note = api("POST", f"tickets/{ticket.pk}/messages", {"body": "ligar amanhã", "internal": True})
    reply = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Sim!", "quoted": received.pk})
    wrong = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Sim!", "quoted": 999})

    assert note.json()["kind"] == "note"
    assert Message.objects.get(pk=reply.json()["id"]).quoted == received
    assert wrong.json()["error_code"] == "VALIDATION_ERROR"
