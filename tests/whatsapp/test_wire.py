"""The wire module: what a customer sends is checked and cut to size before tickets/ sees it."""

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.tickets.test_inbound import CUSTOMER, wa_payload
from whatsapp.wire import (
    FILENAME_MAX_BYTES,
    MIMETYPE_MAX,
    WA_ID_MAX,
    OutboundMedia,
    OutboundMessage,
    download_failed,
    download_read,
    filename_clean,
    inbound_message,
    mimetype_clean,
    send_call,
    sent_before,
    sent_id,
)


def test_an_ordinary_message_is_read_as_sent():
    message = inbound_message(wa_payload(1, body="Olá", caption="", quoted="false_x_1"))

    assert (message.chat, message.kind, message.body, message.push_name) == (CUSTOMER, "text", "Olá", "Maria")
    assert (
        message.id == f"false_{CUSTOMER}_MSG000001"
        and not message.from_me
        and message.quoted_id == "false_x_1"
    )
    assert abs(message.timestamp.timestamp() - time.time()) < 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contrato.pdf", "contrato.pdf"),
        ("..", ""),
        (".", ""),
        ("../x", "x"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("nota\x00fiscal.pdf", "notafiscal.pdf"),
        ("a\nb\tc\x7f.txt", "abc.txt"),
        ("fatura\u202egpj.exe", "faturagpj.exe"),  # the right-to-left override that hides ".exe"
        (".bashrc", "bashrc"),
        ("  relatório .pdf ", "relatório.pdf"),
        ("XML-TAX.pdf", "XML-TAX.pdf"),
        ("relatório..pdf", "relatório.pdf"),
        ("", ""),
        (None, ""),
        (42, ""),
        (["a.pdf"], ""),
    ],
)
def test_file_names_are_reduced_to_a_safe_base_name(name, expected):
    assert filename_clean(name) == expected


@pytest.mark.parametrize("name", ["a" * 300 + ".pdf", "é" * 200 + ".pdf", "😀" * 100 + ".jpeg", "x" * 1000])
def test_a_long_file_name_is_cut_to_255_bytes_keeping_its_extension(name):
    cleaned = filename_clean(name)

    assert 0 < len(cleaned.encode()) <= FILENAME_MAX_BYTES
    assert cleaned.endswith(name[-4:] if name.endswith(".pdf") else name[-5:] if "." in name else "x")
    cleaned.encode("utf-8")  # no half characters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("image/jpeg", "image/jpeg"),
        ("IMAGE/PNG", "image/png"),
        ("audio/ogg; codecs=opus", "audio/ogg; codecs=opus"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("text/plain; charset=" + "x" * 200, "text/plain"),  # the parameters do not fit: the type does
        ("x/" + "y" * 200, "application/octet-stream"),
        ("jpeg", "application/octet-stream"),
        ("image/jpeg\x00", "image/jpeg"),
        ("../../etc/passwd", "application/octet-stream"),
        ("<script>/x", "application/octet-stream"),
        (7, "application/octet-stream"),
    ],
)
def test_mime_types_look_like_mime_types_and_fit_the_column(value, expected):
    assert mimetype_clean(value) == expected
    assert len(mimetype_clean(value)) <= MIMETYPE_MAX


def test_text_loses_nul_bytes_and_lone_surrogates_and_is_cut():
    message = inbound_message(
        wa_payload(1, body="a\x00b\ud800c", caption="x" * 100_000, notifyName="N" * 500)
    )

    assert message.body == "abc"
    assert inbound_message(wa_payload(1, body="é\ud800 \udfff!")).body == "é !"  # no NUL byte to give it away
    assert len(message.caption) == 65_536
    assert len(message.push_name) == 200
    message.body.encode("utf-8")


def test_an_id_as_long_as_the_column_is_kept_and_one_with_control_characters_loses_them():
    exact = "false_x_" + "A" * (WA_ID_MAX - 8)

    assert inbound_message(wa_payload(1, id=exact)).id == exact
    assert inbound_message(wa_payload(1, id="false_x_\x01AB\u200bC")).id == "false_x_ABC"


def test_ids_too_long_for_the_column_are_shortened_and_stay_distinct():
    first = inbound_message(wa_payload(1, id="false_x_" + "A" * 300))
    second = inbound_message(wa_payload(1, id="false_x_" + "A" * 299 + "B"))

    assert len(first.id) == WA_ID_MAX == len(second.id)
    assert first.id.startswith("false_x_AAAA") and first.id != second.id  # its start still readable
    assert (
        first.id == inbound_message(wa_payload(1, id="false_x_" + "A" * 300)).id
    )  # heard again: the same id


def test_a_message_without_an_id_gets_one_from_its_content():
    payload = wa_payload(1)
    del payload["id"]

    assert inbound_message(payload).id.startswith("unknown~")
    assert inbound_message(payload).id == inbound_message(dict(payload)).id


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ({"type": "sticker-pack", "body": ""}, "[unsupported message: sticker-pack]"),
        ({"type": "poll_creation", "body": "Qual?"}, "[unsupported message: poll_creation]\nQual?"),
        ({"type": "po ll<b>\n", "body": ""}, "[unsupported message: pollb]"),  # the name as plain text
        ({"type": "<>", "body": ""}, "[unsupported message: ?]"),
        ({"type": "p" * 100, "body": ""}, f"[unsupported message: {'p' * 40}]"),
        ({"type": "chat", "vcard": "BEGIN:VCARD"}, "Olá"),  # a card only makes a contact's body
        ({"type": ["chat"], "body": 5}, "[unsupported message: list]"),
        ({"body": {"text": "oi"}}, "[unsupported message: dict]"),
        ({"type": "location", "lat": "x", "lng": 1, "body": ""}, ""),
        ({"type": "location", "lat": 91.0, "lng": 1}, "Olá"),
    ],
)
def test_unknown_kinds_and_wrongly_typed_fields_become_a_readable_message(fields, body):
    message = inbound_message(wa_payload(1, **fields))

    assert message.kind in ("text", "location") and message.body == body


@pytest.mark.parametrize("payload", [None, [], "text", 42, {}, {"id": None, "from": None, "fromMe": "yes"}])
def test_anything_at_all_is_read_without_an_error(payload):
    message = inbound_message(payload)

    assert message.chat == "" and message.id.startswith("unknown~") and not message.from_me


@pytest.mark.parametrize("chat", ["../etc@c.us", "x" * 70 + "@c.us", "5511²@c.us", "5511 99@c.us", 5511, ""])
def test_chat_ids_that_are_no_whatsapp_id_are_left_empty(chat):
    assert inbound_message(wa_payload(1) | {"from": chat}).chat == ""


@pytest.mark.parametrize("t", ["soon", None, True, float("nan"), float("inf"), -5, 10**20, 1e300, 0])
def test_timestamps_that_are_not_plausible_become_now(t):
    at = inbound_message(wa_payload(1, t=t)).timestamp

    assert abs(at.timestamp() - time.time()) < 5


@pytest.mark.parametrize("t", [1_700_000_000, datetime(2009, 1, 1, tzinfo=UTC).timestamp()])
def test_a_plausible_timestamp_is_kept(t):
    assert inbound_message(wa_payload(1, t=t)).timestamp == datetime.fromtimestamp(t, UTC)


@pytest.mark.parametrize("size", [0, 2**53])
def test_sizes_from_an_empty_file_to_the_largest_plausible_are_kept(size):
    assert inbound_message(wa_payload(1, type="document", size=size)).size == size


@pytest.mark.parametrize("size", [-1, 2**53 + 1, 2**64, "12", 1.5, True])
def test_sizes_that_are_not_a_byte_count_are_dropped(size):
    assert inbound_message(wa_payload(1, type="document", size=size)).size is None


def test_media_is_only_downloaded_for_media_kinds_that_say_so():
    assert inbound_message(wa_payload(1, type="document", isMedia=True)).is_media
    assert not inbound_message(wa_payload(1, type="document", isMedia="true")).is_media
    assert not inbound_message(wa_payload(1, type="sticker-pack", isMedia=True)).is_media


def test_a_download_with_damaged_base64_is_a_failed_download():
    assert download_read({"mimetype": "image/png", "size": 3, "data": "AAE="}).data == b"\x00\x01"
    damaged = download_read({"mimetype": "image/png", "size": 3, "data": "***"})
    assert damaged.data is None and "damaged" in damaged.error
    assert download_read(None).data is None


# -- the way out: an OutboundMessage becomes a wa-js call --------------------------------------

REPLY = OutboundMessage(id=26, chat=CUSTOMER, body="Olá", quoted_id=f"false_{CUSTOMER}_ABC")
VOICE = OutboundMessage(
    id=27,
    chat=CUSTOMER,
    body="",
    media=OutboundMedia(path="m/1.ogg", kind="audio", mimetype="audio/ogg", filename="nota.ogg", voice=True),
)


def test_a_text_is_sent_with_the_id_made_from_its_row_and_its_quote():
    assert send_call(REPLY) == (
        "chat.sendTextMessage",
        [CUSTOMER, "Olá", {"messageId": "3EB0000000000000001A", "quotedMsg": f"false_{CUSTOMER}_ABC"}],
    )


def test_a_recorded_audio_is_sent_as_a_voice_message_and_other_files_by_their_kind():
    function, (chat, content, options) = send_call(VOICE, b"OggS")
    sticker = replace(VOICE, media=replace(VOICE.media, kind="sticker", voice=False))
    document = replace(VOICE, media=replace(VOICE.media, kind="text", voice=False))

    assert (function, chat, content) == ("chat.sendFileMessage", CUSTOMER, "data:audio/ogg;base64,T2dnUw==")
    assert options == {
        "messageId": "3EB0000000000000001B",
        "type": "audio",
        "mimetype": "audio/ogg",
        "filename": "nota.ogg",
        "caption": "",
        "isPtt": True,
    }
    assert [send_call(m, b"x")[1][2]["type"] for m in (sticker, document)] == ["sticker", "document"]
    assert "isPtt" not in send_call(sticker, b"x")[1][2]


def test_an_earlier_attempt_is_found_by_its_id_among_our_own_messages():
    ours = f"true_{CUSTOMER}_3EB0000000000000001A"
    listing = [
        "not a message",
        {"fromMe": False, "id": f"false_{CUSTOMER}_3EB0000000000000001A"},  # the customer's, not ours
        {"fromMe": True, "id": f"true_{CUSTOMER}_3EB0000000000000001B"},  # another of ours
        {"fromMe": True, "id": {"_serialized": ours}},
    ]

    assert sent_before(listing, message=REPLY) == ours
    assert sent_before(listing[:3], message=REPLY) is None
    assert sent_before(None, message=REPLY) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"id": "true_x_given"}, "true_x_given"),
        ({"id": None}, f"true_{CUSTOMER}_3EB0000000000000001A"),
        ({"id": 12345}, f"true_{CUSTOMER}_3EB0000000000000001A"),  # a number is no WhatsApp id
        (None, f"true_{CUSTOMER}_3EB0000000000000001A"),
        ("true", f"true_{CUSTOMER}_3EB0000000000000001A"),
    ],
)
def test_the_id_a_send_answers_with_is_kept_or_made_from_ours(answer, expected):
    assert sent_id(answer, message=REPLY) == expected


def test_a_downloaded_file_keeps_its_type_and_its_real_size():
    got = download_read({"mimetype": "Image/PNG", "size": 999, "data": "AAEC"})
    assert (got.mimetype, got.size, got.data, got.error) == ("image/png", 3, b"\x00\x01\x02", "")


def test_a_file_not_sent_over_the_limit_keeps_the_size_and_type_the_page_declared():
    got = download_read({"mimetype": "video/mp4", "size": 50 * 2**20, "data": None})
    assert (got.mimetype, got.size, got.data) == ("video/mp4", 50 * 2**20, None)


def test_a_damaged_file_and_a_failed_download_say_why_and_carry_no_type():
    damaged = download_read({"mimetype": "image/png", "size": 3, "data": "***"})
    assert (damaged.mimetype, damaged.size, damaged.data) == ("", None, None)
    assert damaged.error == "Not downloaded: the page sent a damaged file."
    long = download_failed("x" * 5000)
    assert (long.mimetype, long.size, long.data, long.error) == ("", None, None, "x" * 1000)


@pytest.mark.parametrize(
    ("lat", "lng", "readable"),
    [(-90, -180, True), (90, 180, True), (90.000001, 0, False), (0, -180.000001, False), ("1", 2, False)],
)
def test_a_location_is_shown_as_coordinates_only_inside_the_globe(lat, lng, readable):
    message = inbound_message(wa_payload(1, type="location", body="", lat=lat, lng=lng))
    assert (message.body == f"{lat}, {lng}") is readable


def test_a_message_without_an_id_gets_the_same_one_whatever_the_order_of_its_fields():
    first = {
        "from": CUSTOMER,
        "type": "chat",
        "body": "Olá",
        "t": 1_700_000_000,
        "when": datetime(2024, 1, 1),
    }
    same = dict(reversed(list(first.items())))
    other = {**first, "body": "Oi"}
    assert inbound_message(first).id == inbound_message(same).id != inbound_message(other).id
    assert inbound_message(first).id.startswith("unknown~")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("text/plain", "text/plain"),
        ("text/plain;", "text/plain"),
        (
            "a/" + "b" * 58 + "; " + "c" * 30 + "=" + "d" * 7,
            "a/" + "b" * 58 + "; " + "c" * 30 + "=" + "d" * 7,
        ),
        ("a/" + "b" * 58 + "; " + "c" * 30 + "=" + "d" * 8, "a/" + "b" * 58),
        (" " * 990 + "text/plain", "text/plain"),  # 1,000 characters are read
        (" " * 991 + "text/plain", "text/plai"),
    ],
)
def test_mime_parameters_are_kept_only_when_they_fit_the_column(value, expected):
    assert mimetype_clean(value) == expected


def test_a_message_without_a_body_or_a_mime_type_is_an_empty_text_without_one():
    payload = wa_payload(1)
    del payload["body"]

    message = inbound_message(payload)

    assert (message.kind, message.body, message.mimetype) == ("text", "", "")
    assert inbound_message(wa_payload(1, mimetype="")).mimetype == ""


def test_a_message_without_a_type_is_a_text():
    payload = wa_payload(1, body="sem tipo")
    del payload["type"]

    message = inbound_message(payload)

    assert (message.kind, message.body) == ("text", "sem tipo")


def test_a_quoted_id_too_long_for_the_column_is_cut_to_it():
    assert inbound_message(wa_payload(1, quoted="q" * 300)).quoted_id == "q" * WA_ID_MAX


def test_a_chat_id_as_long_as_the_column_is_kept_whole():
    longest = "5" * 48 + "@newsletter.chat"  # 64 characters: the column's length
    assert len(longest) == 64

    assert inbound_message(wa_payload(1, chat=longest)).chat == longest
