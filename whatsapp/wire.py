"""The WhatsApp wire format in one place: a wa-js message becomes an ``InboundMessage``, and an
``OutboundMessage`` (what ``tickets/`` queued) becomes the wa-js call that sends it.

What the page sends (bridge.js's ``plainMessage``: ``id``, ``from``, ``to``,
``fromMe``, ``type``, ``body``, ``caption``, ``t``, ``notifyName``, ``mimetype``,
``filename``, ``size``, ``isMedia``, ``quoted``, ``lat``, ``lng``, ``vcard``)
comes from a customer, so it is untrusted input like an HTTP request (design,
section 8). Every field is checked and cut to what the database holds here,
before ``tickets/`` sees it: text without NUL bytes or lone surrogates, lengths
cut to the columns, a file name reduced to a safe base name, a MIME type that
looks like one, a timestamp that is a plausible time. Reading never fails: a
field that is missing or of the wrong type falls back to a default, and a kind
we do not know becomes a readable line such as "[unsupported message: poll]".
``tickets/`` never reads a wa-js key.

The way out is typed too: ``tickets.outbound.outbound_pending`` hands the
session ``OutboundMessage``s (the chat, the text, the file, the quoted message's
WhatsApp id), and ``send_call`` turns one into ``WPP.chat.send*Message``'s
arguments, so the session never reads a ticket's fields. Each message is sent
with a WhatsApp id made from its row (``client_message_id``), and a chat's
latest messages tell whether an earlier attempt went through (``sent_before``).
"""

import base64
import binascii
import hashlib
import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language

# What the columns hold (tickets.Message, contacts.Contact).
WA_ID_MAX = 128  # Message.wa_id
CHAT_MAX = 64  # Contact.wa_id
PUSH_NAME_MAX = 200  # Contact.push_name
MIMETYPE_MAX = 100  # Message.mimetype
FILENAME_MAX_BYTES = 255  # Message.filename (255 characters) and a file name on any common filesystem
TEXT_MAX = 65_536  # WhatsApp's own limit for a text; a body or caption beyond it is cut
SIZE_MAX = 2**53  # bytes; anything larger is no real file
EARLIEST = datetime(2009, 1, 1, tzinfo=UTC).timestamp()  # WhatsApp did not exist before
FUTURE_SLACK = 86_400.0  # seconds a phone's clock may run ahead
OCTET_STREAM = "application/octet-stream"

# WhatsApp's message types (wa-js ``msg.type``) as the helpdesk's kinds (tickets.Message.Kind values).
KINDS = {
    "chat": "text",
    "image": "image",
    "ptt": "audio",
    "audio": "audio",
    "video": "video",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "vcard": "contact",
    "multi_vcard": "contact",
}
MEDIA_KINDS = {"image", "audio", "video", "document", "sticker"}
# The helpdesk's kinds of file as wa-js ``sendFileMessage``'s ``type``; any other kind goes as a document.
FILE_TYPES = {"image": "image", "audio": "audio", "video": "video", "sticker": "sticker"}

CHAT_ID = re.compile(r"[0-9A-Za-z._:+-]{1,48}@[0-9a-z.]{1,15}")
PHONE_ID = re.compile(r"(\d{6,15})@c\.us")  # a person's phone id; its digits are their phone number
LID = re.compile(r"\d{1,48}@lid")  # a person's LID: WhatsApp's id for someone whose phone it may hide
MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,40}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,60}")
MIME_PARAMS = re.compile(r"(;\s*[A-Za-z0-9_.-]{1,30}=[\x21-\x7e]{1,40}){0,4}")
EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # text that reads backwards


@dataclass(frozen=True)
class Download:
    """A message's file as the session fetched it: ``data`` None when not downloaded (``error`` says why,
    or the file was over WHATSAPP_MAX_MEDIA_MB)."""

    mimetype: str
    size: int | None
    data: bytes | None
    error: str = ""


@dataclass(frozen=True)
class Person:
    """The other party of a chat as the helpdesk keeps them: the address replies go to (the phone's id
    when WhatsApp tells the phone, else the LID), the other address WhatsApp knows them by ("" when none
    is known) and their phone number in digits ("" when WhatsApp hides it: never read from a LID)."""

    address: str
    alias: str = ""
    phone: str = ""

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.address, self.alias) if self.alias else (self.address,)


def person_of(chat: str) -> Person:
    """Who a chat is from its id alone: a phone id tells the phone; a LID or a group tells none."""
    phone = PHONE_ID.fullmatch(chat)
    return Person(address=chat, phone=phone.group(1) if phone else "")


def person_from_pn_lid_entry(reply: Any, *, asked: str) -> Person:
    """Who ``asked`` (a chat's id) is, from ``WPP.contact.getPnLidEntry``'s answer ``{"lid", "phoneNumber"}``
    (each ``{"id", "server", "_serialized"}``, either missing). An answer that is not about ``asked``, or
    whose ids are not a LID and a phone id, tells nothing: ``asked`` alone (``person_of``)."""
    fields = reply if isinstance(reply, dict) else {}
    lid = chat_id(fields.get("lid"))
    phone_id = chat_id(fields.get("phoneNumber"))
    lid = lid if LID.fullmatch(lid) else ""
    phone = PHONE_ID.fullmatch(phone_id)
    phone_id = phone_id if phone else ""
    if not asked or asked not in (lid, phone_id) or not (lid and phone):
        return person_of(asked)
    return Person(address=phone_id, alias=lid, phone=phone.group(1))


@dataclass(frozen=True)
class InboundMessage:
    """One WhatsApp message as the helpdesk stores it, every field checked and cut to size."""

    chat: str  # the other party's WhatsApp id; "" when the payload had none we can use
    id: str
    kind: str  # a tickets.Message.Kind value
    body: str  # as readable text: a location as "lat, lng", a contact card as its vCard
    caption: str
    mimetype: str
    filename: str  # a safe base name, or "" when the message had none
    size: int | None
    quoted_id: str
    timestamp: datetime
    from_me: bool
    push_name: str
    is_media: bool  # there is a file to download
    download: Download | None = None  # set by the session once it fetched the file
    # Who the chat's other party is: from the chat's id alone, until the session asks WhatsApp
    # (whatsapp/addresses.py); None only for a message made without ``inbound_message``.
    person: Person | None = None
    raw: Any = field(default=None, compare=False, repr=False)  # the payload as received, for a dead letter

    @property
    def reply_row(self) -> int | None:
        """For one of our replies heard back, the helpdesk row it was sent for (its id was made by
        ``client_message_id``); None for anything else."""
        return client_message_row(self.id) if self.from_me else None


@dataclass(frozen=True)
class OutboundMedia:
    """The file of an outbound message."""

    path: str  # its name in the helpdesk's storage (read with tickets.outbound.outbound_file)
    kind: str  # a tickets.Message.Kind value
    mimetype: str
    filename: str
    voice: bool  # recorded audio, sent as a voice message


@dataclass(frozen=True)
class OutboundMessage:
    """One queued message, as much of it as sending needs."""

    id: int  # the helpdesk's row: the result is reported against it, and the WhatsApp id is made from it
    chat: str  # the customer's WhatsApp id
    body: str  # the text, or the file's caption
    quoted_id: str = ""  # the WhatsApp id of the message it answers
    media: OutboundMedia | None = None


@dataclass(frozen=True)
class OutboundChange:
    """One queued change of a message (an agent's reaction, edit or deletion), as making it needs."""

    id: int  # the helpdesk's row (tickets.MessageChange): the result is reported against it
    chat: str  # the customer's WhatsApp id
    target: str  # the WhatsApp id of the message it changes
    kind: str  # a tickets.ChangeKind value: "reaction", "edit" or "delete"
    value: str = ""  # the emoji ("" removes ours) or the new text


def inbound_message(payload: Any) -> InboundMessage:
    """Read a wa-js message payload; never raises, whatever the payload holds."""
    fields = payload if isinstance(payload, dict) else {}
    from_me = fields.get("fromMe") is True
    wa_type = fields.get("type", "chat")  # a message without a type is plain text
    kind = KINDS.get(wa_type) if isinstance(wa_type, str) else None
    chat = chat_id(fields.get("to") if from_me else fields.get("from"))
    return InboundMessage(
        chat=chat,
        id=message_id(fields.get("id"), payload),
        kind=kind or "text",
        body=_body(kind, wa_type, fields),
        caption=text(fields.get("caption")),
        mimetype=_mimetype_given(fields.get("mimetype")),
        filename=filename_clean(fields.get("filename")),
        size=_size(fields.get("size")),
        quoted_id=text(fields.get("quoted"), WA_ID_MAX),
        timestamp=_timestamp(fields.get("t")),
        from_me=from_me,
        push_name=text(fields.get("notifyName"), PUSH_NAME_MAX),
        is_media=fields.get("isMedia") is True and kind in MEDIA_KINDS,
        person=person_of(chat),
        raw=payload,
    )


def download_read(reply: Any) -> Download:
    """The bridge's answer to a media request: ``{"mimetype", "size", "data": base64 or null}``."""
    fields = reply if isinstance(reply, dict) else {}
    data = None
    if isinstance(fields.get("data"), str):
        try:
            data = base64.b64decode(fields["data"], validate=True)
        except (binascii.Error, ValueError):
            return download_failed(
                in_helpdesk_language(gettext_noop("Not downloaded: the page sent a damaged file."))
            )
    size = _size(fields.get("size")) if data is None else len(data)
    return Download(mimetype=_mimetype_given(fields.get("mimetype")), size=size, data=data)


def download_failed(reason: str) -> Download:
    return Download(mimetype="", size=None, data=None, error=text(reason, 1000))


def text(value: Any, limit: int = TEXT_MAX) -> str:
    """A string from the wire without NUL bytes or lone surrogates, cut to ``limit`` characters; "" for a non-string."""
    if not isinstance(value, str):
        return ""
    if "\x00" in value or not value.isascii():
        value = "".join(ch for ch in value if ch != "\x00" and not "\ud800" <= ch <= "\udfff")
    return value[:limit]


def chat_id(value: Any) -> str:
    """A WhatsApp id such as ``5511988887777@c.us`` (a ``{"_serialized"}`` object is read too); "" when it is none."""
    if isinstance(value, dict):
        value = value.get("_serialized")
    value = text(value, CHAT_MAX + 1)
    return value if len(value) <= CHAT_MAX and CHAT_ID.fullmatch(value) else ""


def exists_id(result: Any) -> str | None:
    """The id WhatsApp uses for a number it was asked about (``contact.queryExists``'s ``wid``: a
    Brazilian mobile typed without its ninth digit answers the id with it, or the other way round);
    None when the number has no WhatsApp or the answer names no person's id."""
    address = chat_id(result.get("wid")) if isinstance(result, dict) else ""
    return address if address.endswith(("@c.us", "@lid")) else None


def message_id(value: Any, payload: Any) -> str:
    """The message's WhatsApp id, cut to the column; a payload without one gets an id made from its content,
    so that hearing it again (the catch-up) does not store it twice."""
    if isinstance(value, dict):
        value = value.get("_serialized")
    value = "".join(ch for ch in text(value, 4096) if ch.isprintable() and not ch.isspace())
    if value and len(value) <= WA_ID_MAX:
        return value
    digest = hashlib.sha256((value or _canonical(payload)).encode("utf-8", "replace")).hexdigest()[:40]
    return f"{value[: WA_ID_MAX - 41]}~{digest}" if value else f"unknown~{digest}"


def mimetype_clean(value: Any) -> str:
    """``type/subtype`` (with parameters when they fit in the column), else application/octet-stream."""
    value = text(value, 1000).strip()
    essence, _sep, params = value.partition(";")
    essence = essence.strip().lower()
    if not MIME.fullmatch(essence):
        return OCTET_STREAM
    params = ";" + params if params else ""
    full = essence + params
    return full if len(full) <= MIMETYPE_MAX and MIME_PARAMS.fullmatch(params) else essence


def _mimetype_given(value: Any) -> str:
    """ "" when the payload gave none (another source may know it), else the checked type."""
    return mimetype_clean(value) if value not in (None, "") else ""


def filename_clean(value: Any, max_bytes: int = FILENAME_MAX_BYTES) -> str:
    """A base name safe on any filesystem: no folder, no ``..``, no control or bidi characters, no leading dot,
    at most ``max_bytes`` in UTF-8 (the extension kept); "" when nothing of the name is usable."""
    name = unicodedata.normalize("NFC", text(value, 4096))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in BIDI_CONTROLS)
    name = name.strip(" .")
    if not name:
        return ""
    extension = EXTENSION.search(name)
    suffix = extension.group() if extension and extension.start() > 0 else ""
    stem = _cut_utf8(name[: len(name) - len(suffix)], max_bytes - len(suffix)).rstrip(" .")
    return stem + suffix if stem else ""


def _cut_utf8(value: str, max_bytes: int) -> str:
    return value.encode()[:max_bytes].decode(errors="ignore")


# Stored as a message's body, read by every agent: in the helpdesk's language.
UNSUPPORTED = gettext_noop("[unsupported message: %(kind)s]")


def _body(kind: str | None, wa_type: Any, fields: dict) -> str:
    """The text an agent reads: locations and contact cards made readable, unknown kinds named."""
    if kind is None:
        name = (
            re.sub(r"[^\w.-]", "", text(wa_type, 40)) if isinstance(wa_type, str) else type(wa_type).__name__
        )
        marker = in_helpdesk_language(UNSUPPORTED, kind=name or "?")
        body = text(fields.get("body"))
        return f"{marker}\n{body}"[:TEXT_MAX] if body else marker
    if kind == "location" and _coordinate(fields.get("lat"), 90) and _coordinate(fields.get("lng"), 180):
        return f"{fields['lat']}, {fields['lng']}"
    if kind == "contact" and text(fields.get("vcard")):
        return text(fields["vcard"])
    body = fields.get("body", "")
    if kind == "text" and not isinstance(body, str):
        return in_helpdesk_language(UNSUPPORTED, kind=type(body).__name__)
    return text(body)


def _coordinate(value: Any, bound: float) -> bool:
    number = _number(value)
    return number is not None and -bound <= number <= bound


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _size(value: Any) -> int | None:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SIZE_MAX else None
    )


def _timestamp(value: Any) -> datetime:
    """When the message was sent; now when the payload's time is not a number or not plausible."""
    number, now = _number(value), time.time()
    if number is None or not EARLIEST <= number <= now + FUTURE_SLACK:
        number = now
    return datetime.fromtimestamp(number, UTC)


def _canonical(payload: Any) -> str:
    try:
        return json.dumps(payload, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):  # keys of mixed types, a circle, nesting too deep
        return repr(payload)


def client_message_id(message_id: int) -> str:
    """The id we ask WhatsApp to give the message: hex, like WhatsApp Web's own, and fixed per row."""
    return f"3EB0{message_id:016X}"


ROW_MAX = 2**63 - 1  # the largest id a database row can have
CLIENT_ID = re.compile(r"_3EB0([0-9A-F]{16})$")  # the end of a WhatsApp id made by client_message_id


def client_message_row(wa_id: str) -> int | None:
    """The row a message of ours was sent for, read back from its WhatsApp id; None for any other id,
    one whose 16 hex digits name no row (0, or beyond 2**63 - 1: the database would overflow on it)
    included: such an id is not ours, and its message is stored as any other."""
    match = CLIENT_ID.search(wa_id)
    row = int(match.group(1), 16) if match else 0
    return row if 1 <= row <= ROW_MAX else None


def send_call(message: OutboundMessage, content: bytes | None = None) -> tuple[str, list[Any]]:
    """The wa-js function that sends ``message`` and its arguments (``content``: the file's bytes)."""
    options: dict[str, Any] = {"messageId": client_message_id(message.id)}
    if message.quoted_id:
        options["quotedMsg"] = message.quoted_id
    media = message.media
    if media is None:
        return "chat.sendTextMessage", [message.chat, message.body, options]
    if content is None:
        raise ValueError("A file message is sent with its file's content.")
    options.update(
        type=FILE_TYPES.get(media.kind, "document"),
        mimetype=media.mimetype,
        filename=media.filename,
        caption=message.body,
    )
    if media.voice:
        options["isPtt"] = True  # played like a voice message the customer records
    data_url = f"data:{media.mimetype};base64,{base64.b64encode(content).decode()}"
    return "chat.sendFileMessage", [message.chat, data_url, options]


def sent_before(listing: Any, *, message: OutboundMessage) -> str | None:
    """The WhatsApp id of an earlier attempt at ``message`` among a chat's latest messages (the bridge's
    ``messages``: our own, with the id we gave it), or None when it did not go through."""
    suffix = f"_{client_message_id(message.id)}"
    for payload in listing if isinstance(listing, list) else []:
        if isinstance(payload, dict) and payload.get("fromMe") is True:
            wa_id = message_id(payload.get("id"), payload)
            if wa_id.endswith(suffix):
                return wa_id
    return None


def sent_id(result: Any, *, message: OutboundMessage) -> str:
    """The WhatsApp id a send answered with; the one WhatsApp makes of ours when the answer has none."""
    value = result.get("id") if isinstance(result, dict) else None
    if isinstance(value, str | dict) and value:
        return message_id(value, result)
    return f"true_{message.chat}_{client_message_id(message.id)}"


WEB_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]*")
WEB_VERSION_MAX = 40  # whatsapp.Connection.web_version


def web_version(constants: Any) -> str:
    """The WhatsApp Web version in ``WPP.conn.getBuildConstants()``'s answer (``VERSION_STR``, such as
    ``2.3000.1038792969``); "" when the page gave none or something that is no version."""
    value = text(constants.get("VERSION_STR"), WEB_VERSION_MAX + 1) if isinstance(constants, dict) else ""
    return value if len(value) <= WEB_VERSION_MAX and WEB_VERSION.fullmatch(value) else ""


def change_call(change: OutboundChange) -> tuple[str, list[Any]]:
    """The wa-js function that makes ``change`` on WhatsApp and its arguments."""
    if change.kind == "reaction":  # false removes our reaction
        return "chat.sendReactionToMessage", [change.target, change.value or False]
    if change.kind == "edit":
        return "chat.editMessage", [change.target, change.value]
    if change.kind == "delete":  # revoke: deleted for everyone, not only on this device
        return "chat.deleteMessage", [change.chat, change.target, True, True]
    raise ValueError(f"no WhatsApp call for a change of kind {change.kind!r}")


def change_refusal(result: Any, *, change: OutboundChange) -> str:
    """Why WhatsApp did not make ``change``, from the call's answer ("" when it did): ``sendMsgResult``
    other than OK (a reaction, a deletion), no id for an edit, a deletion that was not a revoke."""
    if isinstance(result, list):  # deleteMessage answers a list for a list of ids
        result = result[0] if result else None
    if not isinstance(result, dict):
        return "WhatsApp answered nothing"
    outcome = result.get("sendMsgResult")
    if isinstance(outcome, dict):  # some wa-js versions nest the result: {"messageSendResult": "OK"}
        outcome = outcome.get("messageSendResult", next(iter(outcome.values()), None))
    if outcome is not None and outcome != "OK":
        return text(f"WhatsApp refused it ({outcome})", 200)
    if change.kind == "delete" and result.get("isRevoked") is False:
        return "WhatsApp did not delete it for everyone"
    if change.kind == "edit" and not result.get("id"):
        return "WhatsApp answered no id for the edit"
    return ""


# -- changes to a message: an edit, a deletion for everyone, a reaction ---------------------------

REACTION_MAX = 64  # tickets.Reaction.emoji
SENDER_MAX = 64  # tickets.Reaction.sender, tickets.EarlyChange.sender
# The wa-js event of each change, and the kind it is (tickets.ChangeKind values).
CHANGE_EVENTS = {"chat.msg_edited": "edit", "chat.msg_revoke": "delete", "chat.new_reaction": "reaction"}
REVOKES = {"revoke", "sender_revoke"}  # "admin_revoke": a group admin's, never a 1:1 chat's


@dataclass(frozen=True)
class InboundChange:
    """A message changed after it was written: edited, deleted for everyone, or reacted to.

    ``chat`` is the conversation the change came from (the customer's id, or for a change made on
    our own phone, the customer's chat), ``target`` the WhatsApp id of the message it changes;
    ``value`` the new text (an edit), the emoji ("" removes it: a reaction) or "" (a deletion);
    ``sender`` who made it (the customer's id, "" for ours). Checked and cut here, like a message."""

    chat: str
    target: str
    kind: str  # a tickets.ChangeKind value
    value: str
    sender: str
    timestamp: datetime
    from_me: bool
    raw: Any = field(default=None, compare=False, repr=False)


def inbound_change(event: str, payload: Any) -> InboundChange | None:
    """Read the bridge's form of a change event (bridge.js); None when it names no message we could
    ever have (no target, no chat) or is no change a 1:1 conversation makes."""
    fields = payload if isinstance(payload, dict) else {}
    kind = CHANGE_EVENTS.get(event)
    if kind == "edit":
        edited: dict = fields["msg"] if isinstance(fields.get("msg"), dict) else {}
        message = inbound_message(edited)
        target = _wa_id(fields.get("id")) or _wa_id(edited.get("id"))
        chat, from_me = message.chat, message.from_me
        value = text(edited.get("body")) or text(edited.get("caption"))  # the new text, as it came
        if not value:  # an edit to nothing is no edit WhatsApp makes (deleting is)
            return None
        when = _timestamp(_seconds(fields.get("editedAt")))
    elif kind == "delete":
        if not isinstance(fields.get("type"), str) or fields["type"] not in REVOKES:
            return None
        target, from_me = _wa_id(fields.get("refId")), fields.get("fromMe") is True
        chat = chat_id(fields.get("to") if from_me else fields.get("from"))
        value, when = "", _timestamp(_seconds(fields.get("t")))
    elif kind == "reaction":
        target, from_me = _wa_id(fields.get("msgId")), fields.get("fromMe") is True
        chat = _remote(target) if from_me else chat_id(fields.get("sender"))
        value, when = (
            reaction_clean(fields.get("reactionText")),
            _timestamp(_seconds(fields.get("timestamp"))),
        )
    else:
        return None
    if not target or not chat:
        return None
    return InboundChange(
        chat=chat,
        target=target,
        kind=kind,
        value=value,
        sender="" if from_me else chat,
        timestamp=when,
        from_me=from_me,
        raw=payload,
    )


def history_change(payload: Any) -> InboundChange | None:
    """What a message read back from its chat's history (the catch-up) says happened to it while no
    session listened: deleted for everyone (its type is then "revoked") or edited (``editedAt``). Read
    as the live event would be, so the same checks apply; None when it shows neither."""
    fields = payload if isinstance(payload, dict) else {}
    if fields.get("type") == "revoked":
        revoke = {k: fields.get(k) for k in ("fromMe", "from", "to", "t")}
        return inbound_change("chat.msg_revoke", {**revoke, "type": "revoke", "refId": fields.get("id")})
    if fields.get("editedAt") is not None:
        return inbound_change(
            "chat.msg_edited", {"id": fields.get("id"), "msg": fields, "editedAt": fields["editedAt"]}
        )
    return None


def _wa_id(value: Any) -> str:
    """A message's WhatsApp id as the column holds it; "" when it is none (no made-up id: a change
    that names nothing is dropped, not stored under a digest)."""
    if isinstance(value, dict):
        value = value.get("_serialized")
    value = text(value, WA_ID_MAX + 1)
    return value if 0 < len(value) <= WA_ID_MAX and value.isprintable() and " " not in value else ""


def _remote(wa_id: str) -> str:
    """The chat a message id names (``true_<chat>_<id>``), "" when it names none."""
    parts = wa_id.split("_")
    return chat_id(parts[1]) if len(parts) >= 3 and parts[0] in ("true", "false") else ""


def _seconds(value: Any) -> Any:
    """A time in seconds, from seconds or milliseconds (wa-js gives both, by event)."""
    number = _number(value)
    return number / 1000 if number is not None and number > 10**11 else value


# A grapheme, the way a reaction shows one: a base character and what joins it (combining marks,
# variation selectors, skin tones, tags, a keycap; zero-width joiners and the character after each;
# a pair of regional indicators is one flag). Enough for every emoji; no dependency for it.
EXTENDERS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
    "\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
)
REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]")
TAGS = re.compile("[\U000e0020-\U000e007f]")
ZWJ = "\u200d"


def reaction_clean(value: Any) -> str:
    """A reaction is one grapheme: a long or non-emoji text from a modified client is cut to its first."""
    value = "".join(ch for ch in text(value, 1000) if ch.isprintable() or ch == ZWJ or TAGS.match(ch))
    value = value.strip()
    while value and (value[0] == ZWJ or EXTENDERS.match(value[0]) or unicodedata.combining(value[0])):
        value = value[1:]  # nothing to join to
    if not value:
        return ""
    end = 1
    if REGIONAL.match(value[0]) and len(value) > 1 and REGIONAL.match(value[1]):
        end = 2
    while end < len(value):
        if EXTENDERS.match(value[end]) or unicodedata.category(value[end]) in ("Mn", "Me"):
            end += 1
        elif value[end] == ZWJ and end + 1 < len(value):
            end += 2
        else:
            break
    return value[:end][:REACTION_MAX]
