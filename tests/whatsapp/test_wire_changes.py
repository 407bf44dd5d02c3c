"""The page's change events (bridge.js's forms of chat.msg_edited, chat.msg_revoke, chat.new_reaction)
read into checked ``InboundChange``s: whatever a modified client sends, reading never fails."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tickets.test_inbound import CUSTOMER
from whatsapp.wire import CHANGE_EVENTS, inbound_change, reaction_clean

ME = "5511999990001@c.us"
TARGET = f"false_{CUSTOMER}_ABC123"


def test_an_edit_names_its_message_the_customers_chat_and_the_new_text():
    payload = {
        "chat": ME,  # wa-js gives the message's "to": our own number for a customer's message
        "id": TARGET,
        "msg": {"id": TARGET, "from": CUSTOMER, "to": ME, "fromMe": False, "type": "chat", "body": "novo"},
        "editedAt": 1_790_000_000_000,  # milliseconds
    }

    change = inbound_change("chat.msg_edited", payload)

    assert (change.chat, change.target, change.kind, change.value, change.sender, change.from_me) == (
        CUSTOMER,
        TARGET,
        "edit",
        "novo",
        CUSTOMER,
        False,
    )
    assert change.timestamp.timestamp() == 1_790_000_000


def test_a_revoke_names_the_revoked_message_not_its_own_id():
    payload = {
        "id": f"false_{CUSTOMER}_REV",
        "refId": TARGET,
        "from": CUSTOMER,
        "to": ME,
        "fromMe": False,
        "type": "revoke",
    }

    change = inbound_change("chat.msg_revoke", payload)

    assert (change.chat, change.target, change.kind, change.value) == (CUSTOMER, TARGET, "delete", "")


def test_a_group_admins_revoke_is_no_change_of_a_conversation():
    payload = {"refId": TARGET, "from": CUSTOMER, "to": ME, "type": "admin_revoke"}

    assert inbound_change("chat.msg_revoke", payload) is None


def test_our_own_reaction_from_the_phone_is_in_the_chat_of_the_message():
    target = f"false_{CUSTOMER}_ABC"
    payload = {
        "id": f"true_{CUSTOMER}_R",
        "msgId": target,
        "reactionText": "🙏",
        "sender": ME,
        "fromMe": True,
    }

    change = inbound_change("chat.new_reaction", payload)

    assert (change.chat, change.sender, change.from_me, change.value) == (CUSTOMER, "", True, "🙏")


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("chat.msg_edited", {"msg": {"from": CUSTOMER, "body": "x"}}),  # no target
        ("chat.msg_revoke", {"refId": TARGET, "from": "not an id", "type": "revoke"}),  # no chat
        (
            "chat.new_reaction",
            {"msgId": "x" * 500, "sender": CUSTOMER, "reactionText": "👍"},
        ),  # too long to be ours
        ("chat.new_reaction", None),
        ("chat.poll_response", {"msgId": TARGET}),
    ],
)
def test_a_change_that_names_no_message_is_dropped(event, payload):
    assert inbound_change(event, payload) is None


@pytest.mark.parametrize(
    ("given_text", "kept"),
    [
        ("👍", "👍"),
        ("👍🏽 and more", "👍🏽"),
        ("👨‍👩‍👧‍👦👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"),
        ("🇧🇷🇵🇹", "🇧🇷"),
        ("❤️", "❤️"),
        ("1️⃣2", "1️⃣"),
        ("\u200d\u0301👍", "👍"),
        ("hello", "h"),
        ("\x00", ""),
        (42, ""),
    ],
)
def test_a_reaction_is_one_grapheme(given_text, kept):
    assert reaction_clean(given_text) == kept


@given(
    event=st.sampled_from(sorted(CHANGE_EVENTS)),
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "refId",
                        "msgId",
                        "msg",
                        "from",
                        "to",
                        "sender",
                        "fromMe",
                        "type",
                        "reactionText",
                        "body",
                        "chat",
                        "timestamp",
                        "editedAt",
                    ]
                ),
                children,
                max_size=8,
            )
        ),
        max_leaves=20,
    ),
)
def test_reading_any_payload_never_fails_and_stays_within_the_columns(event, payload):
    change = inbound_change(event, payload)

    if change is not None:
        assert change.target and len(change.target) <= 128 and len(change.chat) <= 64
        assert len(change.value) <= 65_536 and (change.kind != "reaction" or len(change.value) <= 64)
