"""A session hands a chat's changes to the domain in the chat's lane, after the messages heard before them."""

import asyncio

import pytest

from tests.tickets.test_inbound import CUSTOMER, inbound, wa_payload
from tickets.models import EarlyChange, Message, Reaction
from whatsapp.wire import inbound_change

pytestmark = pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own


def reaction(target: str, emoji: str = "👍"):
    return inbound_change(
        "chat.new_reaction",
        {"id": "false_x_R", "msgId": target, "reactionText": emoji, "sender": CUSTOMER, "fromMe": False},
    )


def edit(target: str, body: str):
    message = wa_payload(0, body=body)
    message["id"] = target
    return inbound_change("chat.msg_edited", {"id": target, "msg": message})


def test_a_change_heard_in_the_batch_of_its_message_finds_it_stored(session):
    message = inbound(1, body="oi")

    session.messages._store_chat(CUSTOMER, [message], [edit(message.id, "olá"), reaction(message.id)])

    stored = Message.objects.get()
    assert stored.body == "olá" and stored.reactions.count() == 1 and not EarlyChange.objects.exists()


def test_a_change_heard_before_its_message_waits_and_is_applied_with_the_messages_batch(session):
    message = inbound(1, body="oi")
    session.messages.early_changes = False  # none waited when the run began

    session.messages._store_chat(CUSTOMER, [], [reaction(message.id)])
    assert session.messages.early_changes is True and EarlyChange.objects.count() == 1

    session.messages._store_chat(CUSTOMER, [message])

    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["👍"]
    assert not EarlyChange.objects.exists()


def test_the_lanes_keep_a_change_after_the_messages_heard_before_it(session):
    """The page's events as the session hears them: a message, its edit, a reaction, a second message."""
    first = wa_payload(1, body="oi")
    edited = dict(first, body="olá")

    async def hear() -> None:
        session.messages.start(None, retry_delay=lambda failures: 0.01)
        session.messages.held = None  # the catch-up is done: heard live goes straight to the lanes
        session.messages.heard(first)
        session.messages.changed("chat.msg_edited", {"id": first["id"], "msg": edited})
        session.messages.changed(
            "chat.new_reaction",
            {"msgId": first["id"], "reactionText": "👍", "sender": CUSTOMER, "fromMe": False},
        )
        session.messages.heard(wa_payload(2, body="tudo bem?"))
        await session.messages.lanes.drain()
        await session.messages.end()

    asyncio.run(hear())

    assert list(Message.objects.order_by("pk").values_list("body", flat=True)) == ["olá", "tudo bem?"]
    assert Message.objects.get(body="olá").reactions.count() == 1


def test_a_change_that_fails_costs_only_itself(session, monkeypatch):
    def broken(**arguments):
        raise RuntimeError("bug")

    monkeypatch.setattr("whatsapp.session_messages.message_change_ingest", broken)
    monkeypatch.setattr("whatsapp.session_messages.early_changes_apply", broken)
    message = inbound(1, body="oi")

    stored = session.messages._store_chat(CUSTOMER, [message], [reaction(message.id)])

    assert [m.body for m in stored] == ["oi"] and Message.objects.get().body == "oi"
