"""Checks on files agents send: what they are (by their bytes, not their name) and how big.

A file is refused before anything is queued: empty, over WHATSAPP_MAX_MEDIA_MB,
a program, or not what its name or declared type claims (a "photo.jpg" that
is no JPEG). WhatsApp shows images, audio and video inline; anything else
goes as a document.
"""

import mimetypes
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from tickets.models import Message
from whatsapp.wire import filename_clean

STORED_NAME_MAX_BYTES = 100  # a file's name on disk: room left for the storage's "_abc1234" on a clash

# (signature at offset, MIME type); checked in order.
SIGNATURES = [
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"#!AMR", "audio/amr"),
    (4, b"ftypM4A", "audio/mp4"),
    (4, b"ftyp3gp", "video/3gpp"),
    (4, b"ftyp", "video/mp4"),
    (0, b"PK\x03\x04", "application/zip"),  # also .docx, .xlsx, .odt
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),  # Matroska/WebM: a browser's recording (audio/webm when said so)
]
PROGRAMS = [b"\x7fELF", b"MZ", b"#!/"]
KIND_OF = {"image": Message.Kind.IMAGE, "audio": Message.Kind.AUDIO, "video": Message.Kind.VIDEO}


class MediaRefused(Exception):
    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


@dataclass
class CheckedMedia:
    kind: str
    mimetype: str
    filename: str
    data: bytes


def media_check(*, data: bytes, filename: str, declared_type: str = "") -> CheckedMedia:
    limit = settings.WHATSAPP_MAX_MEDIA_MB * 2**20
    if not data:
        raise MediaRefused(_("The file is empty."))
    if len(data) > limit:
        raise MediaRefused(
            _("The file is %(size).1f MB; WhatsApp media may be at most %(limit)g MB.")
            % {"size": len(data) / 2**20, "limit": settings.WHATSAPP_MAX_MEDIA_MB},
            too_large=True,
        )
    if any(data.startswith(program) for program in PROGRAMS):
        raise MediaRefused(_("Programs cannot be sent."))
    detected = next(
        (mime for offset, magic, mime in SIGNATURES if data[offset : offset + len(magic)] == magic), ""
    )
    claimed = (declared_type or "").split(";")[0].strip().lower()
    claimed_kind = claimed.split("/")[0] if claimed else _kind_from_name(filename)
    if detected == "video/webm" and claimed.startswith("audio/"):
        detected = "audio/webm"  # a voice note recorded in the browser: WebM holding only sound
    detected_kind = detected.split("/")[0]
    if claimed_kind in KIND_OF and claimed_kind != detected_kind:
        raise MediaRefused(
            _("%(name)s is not a real %(kind)s file.") % {"name": filename, "kind": claimed_kind}
        )
    mimetype = detected or claimed or "application/octet-stream"
    # The name as the customer will see it, cut to 255 bytes like a received one (a name of 250
    # two-byte characters is 500 bytes: no filesystem stores it).
    return CheckedMedia(
        KIND_OF.get(detected_kind, Message.Kind.DOCUMENT), mimetype, filename_clean(filename) or "file", data
    )


def stored_name(*, filename: str, mimetype: str, key: str) -> str:
    """An attachment's name on disk, sent or received: its own, cut shorter, or ``file-<key>.<ext>``
    when it has none usable.

    The storage drops what is not a letter, digit, ``-``, ``_`` or ``.`` and refuses a name
    left empty, so the name is made of those only, and short enough (in bytes) for the storage's
    suffix on a clash: no name a customer or an agent chooses can make the save fail.
    """
    name = filename_clean(re.sub(r"[^-\w. ]", "", filename), STORED_NAME_MAX_BYTES).replace(" ", "_")
    if name.strip("._"):
        return name
    extension = mimetypes.guess_extension(mimetype.split(";")[0]) or ""
    key = re.sub(r"[^-\w]", "", key)[-40:]
    return f"file-{key}{extension}"


def _kind_from_name(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "jpg": "image",
        "jpeg": "image",
        "png": "image",
        "gif": "image",
        "webp": "image",
        "mp3": "audio",
        "ogg": "audio",
        "m4a": "audio",
        "mp4": "video",
        "3gp": "video",
    }.get(extension, "")
