"""Dead letters: a message that cannot be stored is kept aside; the messages after it are stored."""

import json

import pytest
from django.db import OperationalError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import CUSTOMER, inbound, wa_payload
from tickets import inbound as tickets_inbound
from tickets.models import Message
from whatsapp.dead_letters import (
    PAYLOAD_MAX,
    TRACEBACK_FRAMES,
    chat_batch_store,
    dead_letter_create,
    dead_letter_retry,
    payload_bounded,
    payload_kept,
)
from whatsapp.models import ConnectionEvent, DeadLetter
from whatsapp.wire import inbound_message, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_storage(monkeypatch):
    """A bug after the wire module: storing fails on one message ("boom") until it is fixed (call the fixture)."""
    real = tickets_inbound._message

    def message_row(connection, message):
        if message.body == "boom":
            raise RuntimeError("storage broke on boom")
        return real(connection, message)

    monkeypatch.setattr(tickets_inbound, "_message", message_row)
    return lambda: monkeypatch.setattr(tickets_inbound, "_message", real)


def bodies() -> list[str]:
    return list(Message.objects.order_by("id").values_list("body", flat=True))


def test_one_bad_message_becomes_a_dead_letter_and_the_rest_of_its_batch_is_stored(broken_storage):
    connection = ConnectionFactory()
    batch = [inbound(1, body="first"), inbound(2, body="boom"), inbound(3, body="after")]

    stored = chat_batch_store(connection=connection, chat=CUSTOMER, messages=batch)

    assert [message.body for message in stored] == ["first", "after"] == bodies()
    letter = DeadLetter.objects.get()
    assert (letter.connection, letter.chat, letter.wa_id) == (connection, CUSTOMER, batch[1].id)
    assert letter.payload == wa_payload(2, body="boom") | {"t": batch[1].raw["t"]}
    assert letter.error_type == "builtins.RuntimeError" and "storage broke on boom" in letter.error
    assert "Traceback" in letter.error and not letter.resolved
    assert connection.events.filter(kind=ConnectionEvent.Kind.ERROR, data__dead_letter=letter.pk).exists()


def test_a_message_without_a_usable_chat_is_a_dead_letter_not_a_contact():
    connection = ConnectionFactory()
    message = inbound_message(wa_payload(1) | {"from": "../../etc@c.us"})

    assert chat_batch_store(connection=connection, chat=message.chat, messages=[message]) == []

    assert DeadLetter.objects.get().error_type == "builtins.ValueError"
    assert not Message.objects.exists()


def test_a_database_that_is_away_is_raised_not_kept_as_a_dead_letter(monkeypatch):
    connection = ConnectionFactory()

    def away(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tickets_inbound, "_store", away)
    with pytest.raises(OperationalError):
        chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1), inbound(2)])
    assert not DeadLetter.objects.exists()


def test_retry_from_the_admin_stores_the_message_once_the_cause_is_fixed(broken_storage, admin_client):
    connection = ConnectionFactory()
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1, body="boom")])
    letter = DeadLetter.objects.get()
    changelist = reverse("admin:whatsapp_deadletter_changelist")
    retry = {"action": "retry", "_selected_action": [letter.pk]}

    admin_client.post(changelist, retry)  # still broken
    letter.refresh_from_db()
    assert (letter.resolved, letter.retried_at is not None, bodies()) == (False, True, [])

    broken_storage()  # fixed
    response = admin_client.post(changelist, retry, follow=True)
    letter.refresh_from_db()
    assert letter.resolved and bodies() == ["boom"]
    assert "1 of 1 stored" in response.content.decode()

    admin_client.post(changelist, retry)  # again: exactly once
    assert bodies() == ["boom"]
    assert "RuntimeError: storage broke on boom" in admin_client.get(changelist).content.decode()
    assert admin_client.get(reverse("admin:whatsapp_deadletter_change", args=[letter.pk])).status_code == 200


def test_a_letter_whose_message_was_stored_meanwhile_is_resolved_without_a_second_copy(broken_storage):
    connection = ConnectionFactory()
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1, body="boom")])
    broken_storage()
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1, body="boom")])  # the catch-up

    assert dead_letter_retry(dead_letter=DeadLetter.objects.get())

    assert bodies() == ["boom"] and DeadLetter.objects.get().resolved


def test_a_media_message_retried_is_stored_saying_its_file_was_not_kept(broken_storage):
    connection = ConnectionFactory()
    document = inbound(
        1, type="document", body="boom", filename="nota.pdf", mimetype="application/pdf", isMedia=True
    )
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[document])
    broken_storage()

    dead_letter_retry(dead_letter=DeadLetter.objects.get())

    stored = Message.objects.get()
    assert (stored.filename, stored.kind, bool(stored.media)) == ("nota.pdf", "document", False)
    assert stored.error == "Not downloaded: the file was not kept with the dead letter."


def test_a_hostile_payload_is_kept_as_json_both_databases_accept():
    connection = ConnectionFactory()
    payload = {
        "id": "x\x00y",
        "body": "a" * 200_000,
        "t": float("nan"),
        "size": 10**30,
        "deep": [[[[[[[1]]]]]]],
        "\x00key": list(range(500)),
    }

    letter = DeadLetter.objects.create(connection=connection, payload=payload_kept(payload), error_type="x")

    letter.refresh_from_db()
    assert letter.payload["id"] == "xy" and len(letter.payload["body"]) == 65_536
    assert letter.payload["t"] == "nan" and letter.payload["size"] == str(10**30)
    assert len(letter.payload["key"]) == 100


def test_a_payload_too_big_as_a_whole_keeps_only_the_start_of_its_json():
    payload = {f"k{n}": "x" * 60_000 for n in range(50)}

    kept = payload_kept(payload)

    assert list(kept) == ["truncated"] and len(kept["truncated"]) == PAYLOAD_MAX
    assert payload_bounded(payload) == payload  # each part alone was within bounds


def test_a_clean_batch_is_stored_in_one_transaction_without_the_message_by_message_fallback(caplog):
    connection = ConnectionFactory()
    batch = [inbound(n, body=f"m{n}") for n in (1, 2, 3)]

    with CaptureQueriesContext(db) as queries:
        stored = chat_batch_store(connection=connection, chat=CUSTOMER, messages=batch)

    assert [message.body for message in stored] == ["m1", "m2", "m3"] == bodies()
    assert sum(query["sql"].startswith('INSERT INTO "tickets_message"') for query in queries) == 1
    assert not [r for r in caplog.records if r.getMessage().startswith("a batch of")]


def test_a_failed_batch_says_so_in_the_log_with_its_connection(broken_storage, caplog):
    connection = ConnectionFactory()

    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1), inbound(2, body="boom")])

    (record,) = [r for r in caplog.records if r.getMessage().startswith("a batch of")]
    assert record.getMessage() == "a batch of 2 failed: storing it message by message"
    assert (record.levelname, record.connection_id, record.exc_info[0]) == (
        "WARNING",
        connection.pk,
        RuntimeError,
    )


def test_the_connection_log_names_the_letter_and_the_first_line_of_its_error():
    connection = ConnectionFactory()
    errors = [RuntimeError("disk full\nwhile saving"), RuntimeError("x" * 300), KeyError()]

    letters = [dead_letter_create(connection=connection, message=inbound(1), error=e) for e in errors]

    logged = [event.message for event in connection.events.order_by("id")]
    kept = "A message could not be stored and was kept as dead letter"
    assert logged == [
        f"{kept} {letters[0].pk}: disk full",
        f"{kept} {letters[1].pk}: {'x' * 200}",
        f"{kept} {letters[2].pk}: KeyError",  # no message: its type says what it was
    ]


def ping(depth: int) -> None:
    if depth == 0:
        raise RuntimeError("the innermost call broke")
    pong(depth - 1)


def pong(depth: int) -> None:
    ping(depth - 1)


def test_a_letter_keeps_where_the_error_happened_its_innermost_frames():
    try:
        ping(10)
    except RuntimeError as error:
        letter = dead_letter_create(connection=ConnectionFactory(), message=inbound(1), error=error)

    assert letter.error.count('File "') == TRACEBACK_FRAMES == 5
    assert "in test_a_letter_keeps" not in letter.error  # the outermost frames are left out
    assert letter.error.rstrip().endswith(
        'raise RuntimeError("the innermost call broke")\nRuntimeError: the innermost call broke'
    )


def test_an_error_too_long_for_its_columns_is_cut_and_the_letter_still_kept():
    long_name = type("Broken" + "E" * 250, (Exception,), {"__module__": "storage"})

    letter = dead_letter_create(
        connection=ConnectionFactory(), message=inbound(1), error=long_name("y" * 30_000)
    )

    letter.refresh_from_db()
    assert letter.error_type == f"storage.Broken{'E' * 186}" and len(letter.error_type) == 200
    assert letter.error.startswith("storage.Broken") and len(letter.error) == 20_000


def test_a_payloads_numbers_are_kept_exactly_and_those_beyond_64_bits_as_their_digits():
    payload = {"max": 2**63 - 1, "min": -(2**63) + 1, "over": 2**63, "under": -(2**63), "huge": 10**200}

    kept = payload_kept(payload)

    assert kept == {
        "max": 2**63 - 1,
        "min": -(2**63) + 1,
        "over": "9223372036854775808",
        "under": "-9223372036854775808",
        "huge": "1" + "0" * 99,  # the first hundred digits
    }
    assert payload_kept({"inf": float("inf"), "nan": float("nan"), "pi": 3.14}) == {
        "inf": "inf",
        "nan": "nan",
        "pi": 3.14,
    }


LONG = "x" * 2000


@pytest.mark.parametrize(
    ("deep", "kept"),
    [
        ([[[[[[LONG]]]]]], [[[[text(repr([[LONG]]), 1000)]]]]),
        ({"b": {"c": {"d": {"e": {"f": LONG}}}}}, {"b": {"c": {"d": {"e": text(repr({"f": LONG}), 1000)}}}}),
    ],
)
def test_a_payload_is_kept_four_levels_below_its_top_and_deeper_parts_as_their_start(deep, kept):
    assert payload_kept({"deep": deep}) == {"deep": kept}


def test_a_payloads_objects_keep_their_first_hundred_keys_each_named_in_200_characters():
    payload = {f"k{n:03d}": n for n in range(150)} | {"n" * 300: "long key"}

    kept = payload_kept(payload)

    assert list(kept) == [f"k{n:03d}" for n in range(100)]
    assert payload_kept({"n" * 300: "long key"}) == {"n" * 200: "long key"}


def test_a_retry_that_fails_again_shows_the_new_error_and_one_that_succeeds_keeps_the_old(monkeypatch):
    connection = ConnectionFactory()
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1, body="fine")])
    failing = [RuntimeError("first failure")]

    def message_row(connection, message):
        raise failing[0]

    real = tickets_inbound._message
    monkeypatch.setattr(tickets_inbound, "_message", message_row)
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(2, body="boom")])
    failing[0] = ValueError("second failure")

    assert not dead_letter_retry(dead_letter=DeadLetter.objects.get())  # other messages are stored

    letter = DeadLetter.objects.get()
    assert (letter.resolved, letter.error_type) == (False, "builtins.ValueError")
    assert letter.error.rstrip().endswith("ValueError: second failure")

    monkeypatch.setattr(tickets_inbound, "_message", real)
    assert dead_letter_retry(dead_letter=letter)
    letter.refresh_from_db()
    assert (letter.resolved, letter.error_type) == (True, "builtins.ValueError")


def test_a_retry_is_judged_by_its_own_connections_messages(broken_storage):
    connection, other = ConnectionFactory(), ConnectionFactory()
    chat_batch_store(connection=connection, chat=CUSTOMER, messages=[inbound(1, body="boom")])
    chat_batch_store(connection=other, chat=CUSTOMER, messages=[inbound(1, body="same id, other number")])

    assert not dead_letter_retry(dead_letter=DeadLetter.objects.get())  # still broken

    assert not DeadLetter.objects.get().resolved


def test_a_payload_is_measured_in_characters_and_kept_whole_up_to_the_limit():
    accents = {f"k{n}": "ç" * 65_536 for n in range(4)}  # 262,000 characters; six times that escaped
    assert payload_kept(accents) == accents

    exact = {"a": "x" * 65_536, "b": "x" * 65_536, "c": "x" * 65_536, "d": "x" * 65_536, "e": "x" * 37_811}
    assert len(json.dumps(exact)) == PAYLOAD_MAX
    assert payload_kept(exact) == exact
    assert list(payload_kept(exact | {"e": "x" * 37_812})) == ["truncated"]
