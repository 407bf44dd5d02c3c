"""Generated wa-js payloads through the real ingest: nothing a customer sends stops the session or is lost.

Each example is a handful of payloads as the page could send them: unicode
digits, path-like and very long file names, NUL bytes, huge captions, wrong
types, missing keys, absurd MIME types. They go through what the session runs
for a lane's batch (whatsapp/wire.py, then whatsapp/dead_letters.py's
``chat_batch_store`` into tickets/inbound.py) on the test database: no
exception escapes, every payload ends stored or as a dead letter (or ignored
by rule: status broadcasts and groups), only a payload without a usable chat
becomes a dead letter (the wire module made every other one storable), and an
ordinary message sent after them is stored. The bench run (tests/benchmarks) is the same with more examples.
"""

import base64
import itertools
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ConnectionFactory, QueueFactory
from tests.tickets.test_inbound import inbound
from tests.tickets.test_inbound_media import media_root  # noqa: F401  (the fixture)
from tickets.inbound import accepts_chat, message_ingest
from tickets.models import Message
from whatsapp.dead_letters import chat_batch_store
from whatsapp.models import Connection, DeadLetter
from whatsapp.wire import KINDS, download_read, inbound_message

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        ["²", "¹", "١", "２", "1" * 5000, "1", "2", "\x00", "a\x00b", "\ud800", "x" * 200_000, ""]
    ),
    st.text(max_size=300),
)
FILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "..",
            "../x",
            "../../etc/passwd",
            "/etc/passwd",
            "C:\\x\\..\\y.pdf",
            "a" * 300 + ".pdf",
            "é" * 200,
            "😀" * 100 + ".jpg",
            "\x00.pdf",
            " ",
            ".",
            "fatura\u202egpj.exe",
            "nota.pdf",
        ]
    ),
    st.text(max_size=400),
)
MIME_TYPES = st.one_of(
    st.sampled_from(
        [
            "image/jpeg",
            "application/pdf",
            "audio/ogg; codecs=opus",
            "x/" + "y" * 300,
            "jpeg",
            "",
            "/",
            "text/plain; charset=" + "u" * 120,
            "a" * 150,
        ]
    ),
    st.text(max_size=150),
)
KIND_NAMES = st.sampled_from([*KINDS, "sticker-pack", "poll_creation", "revoked", ""])
CHATS = ["5511911110001@c.us", "5511911110002@c.us", "5511911110003@c.us"]
ids = itertools.count(1)


@st.composite
def wa_payloads(draw) -> dict:
    """A message payload as bridge.js could send it: mostly of a known chat with hostile fields,
    sometimes with any key missing or of any type."""
    number = next(ids)
    if draw(st.integers(0, 9)) < 2:  # anything at all
        chat = draw(
            st.one_of(st.sampled_from(["status@broadcast", "1203630@g.us", "../@c.us", *CHATS]), ANYTHING)
        )
        return draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.one_of(st.just(f"false_{chat}_HYP{number:08d}"), HOSTILE_TEXT, ANYTHING),
                    "from": st.just(chat),
                    "to": ANYTHING,
                    "fromMe": ANYTHING,
                    "type": st.one_of(KIND_NAMES, ANYTHING),
                    "body": st.one_of(HOSTILE_TEXT, ANYTHING),
                    "caption": ANYTHING,
                    "t": ANYTHING,
                    "notifyName": ANYTHING,
                    "mimetype": ANYTHING,
                    "filename": ANYTHING,
                    "size": ANYTHING,
                    "isMedia": ANYTHING,
                    "quoted": ANYTHING,
                    "lat": ANYTHING,
                    "lng": ANYTHING,
                    "vcard": ANYTHING,
                },
            )
        )
    chat = draw(st.sampled_from(CHATS))
    kind = draw(
        st.one_of(st.sampled_from(["chat", "document", "image", "ptt", "location", "vcard"]), KIND_NAMES)
    )
    return {
        "id": f"false_{chat}_HYP{number:08d}",
        "from": chat,
        "to": "5511999990001@c.us",
        "fromMe": False,
        "type": kind,
        "body": draw(HOSTILE_TEXT),
        "caption": draw(HOSTILE_TEXT),
        "notifyName": draw(HOSTILE_TEXT),
        "t": draw(st.one_of(st.integers(), st.floats(), st.just(None))),
        "filename": draw(FILE_NAMES),
        "mimetype": draw(MIME_TYPES),
        "size": draw(st.one_of(st.integers(), st.none())),
        "isMedia": kind in ("document", "image", "ptt"),
        "quoted": draw(st.one_of(HOSTILE_TEXT, st.none())),
        "lat": draw(st.one_of(st.floats(), st.none())),
        "lng": draw(st.one_of(st.floats(), st.none())),
        "vcard": draw(st.one_of(HOSTILE_TEXT, st.none())),
    }


@st.composite
def downloads(draw) -> dict:
    """The bridge's answer to a media request: mostly a file, sometimes anything at all."""
    if draw(st.integers(0, 9)) < 8:
        data = draw(st.binary(min_size=1, max_size=64))
        return {"mimetype": draw(MIME_TYPES), "size": len(data), "data": base64.b64encode(data).decode()}
    return draw(st.fixed_dictionaries({"mimetype": ANYTHING, "size": ANYTHING, "data": ANYTHING}))


def hostile_batch_ingest(connection: Connection, payloads: list[dict], downloads: list[dict]) -> None:
    """What the session does with a lane's batches, then the checks every example must pass."""
    messages = [inbound_message(payload) for payload in payloads]
    messages = [
        replace(m, download=download_read(d)) if m.is_media else m
        for m, d in zip(messages, downloads, strict=False)
    ]
    for chat in dict.fromkeys(message.chat for message in messages):
        if accepts_chat(chat):
            chat_batch_store(
                connection=connection, chat=chat, messages=[m for m in messages if m.chat == chat]
            )
    for message in messages:
        kept = Message.objects.filter(connection=connection, wa_id=message.id).exists() or (
            DeadLetter.objects.filter(connection=connection, wa_id=message.id).exists()
        )
        assert kept or not accepts_chat(message.chat), message
    # Checked at the wire, every message with a usable chat is storable: a dead letter is only for one without.
    assert not DeadLetter.objects.filter(connection=connection).exclude(chat="").exists()
    after = message_ingest(
        connection=connection, message=inbound(next(ids), chat=CHATS[0], body="still here")
    )
    assert after is not None and after.body == "still here"


def a_connection_with_a_menu() -> Connection:
    """Two queues: a customer's first message gets the menu, and later ones are read as answers."""
    connection = ConnectionFactory(greeting="Olá {{name}}")
    connection.queues.add(QueueFactory(name="Vendas", ordering=1), QueueFactory(name="Suporte", ordering=2))
    return connection


def hostile_examples(count: int):
    """The property test, with ``count`` examples, fixed (derandomized) so a run is repeatable."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


BATCHES = st.lists(st.tuples(wa_payloads(), downloads()), min_size=1, max_size=6)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer", "media_root")
@hostile_examples(60)
@given(batch=BATCHES)
def test_no_payload_stops_the_ingest_or_is_lost(batch):
    connection = Connection.objects.first() or a_connection_with_a_menu()

    hostile_batch_ingest(connection, [payload for payload, _ in batch], [download for _, download in batch])
