"""Dead letters: a message that cannot be stored is kept aside; the messages after it are stored."""

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
    chat_batch_store,
    dead_letter_retry,
    payload_bounded,
    payload_kept,
)
from whatsapp.models import ConnectionEvent, DeadLetter
from whatsapp.wire import inbound_message

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
    assert "not kept" in stored.error


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
    assert (record.levelname, record.connection_id, record.exc_info is not None) == (
        "WARNING",
        connection.pk,
        True,
    )
