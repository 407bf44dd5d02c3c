"""The agent's reactions, edits and deletions on the WhatsApp side: the wa-js calls they become
(whatsapp/wire.py), the simulator playing them, and the session marking each made or refused."""

import asyncio

import pytest

from tests.factories import MessageFactory, UserFactory
from tests.whatsapp.session_page import session_page
from tickets.message_actions import message_delete, message_edit, message_react
from tickets.models import Message, MessageChange
from whatsapp.lease import lease_renew
from whatsapp.models import Connection
from whatsapp.simulator.world import World
from whatsapp.wire import OutboundChange, change_call, change_refusal

CHAT = "5511988887777@c.us"
TARGET = f"true_{CHAT}_3EB00000000000000001"


def change(kind: str, value: str = "") -> OutboundChange:
    return OutboundChange(id=1, chat=CHAT, target=TARGET, kind=kind, value=value)


def test_each_change_is_the_wa_js_call_its_types_declare():
    assert change_call(change("reaction", "👍")) == ("chat.sendReactionToMessage", [TARGET, "👍"])
    assert change_call(change("reaction")) == ("chat.sendReactionToMessage", [TARGET, False])
    assert change_call(change("edit", "Novo")) == ("chat.editMessage", [TARGET, "Novo"])
    assert change_call(change("delete")) == ("chat.deleteMessage", [CHAT, TARGET, True, True])


@pytest.mark.parametrize(
    ("kind", "answer", "refusal"),
    [
        ("reaction", {"sendMsgResult": "OK"}, ""),
        ("reaction", {"sendMsgResult": "ERROR_NETWORK"}, "WhatsApp refused it (ERROR_NETWORK)"),
        ("reaction", None, "WhatsApp answered nothing"),
        ("edit", {"id": "true_x_1", "ack": 1}, ""),
        ("edit", {"ack": 0}, "WhatsApp answered no id for the edit"),
        ("delete", {"id": TARGET, "sendMsgResult": "OK", "isRevoked": True}, ""),
        ("delete", [{"id": TARGET, "sendMsgResult": "OK", "isRevoked": True}], ""),
        ("delete", {"id": TARGET, "sendMsgResult": "OK", "isRevoked": False}, "not delete it for everyone"),
    ],
)
def test_the_answer_of_wa_js_says_whether_the_change_was_made(kind, answer, refusal):
    found = change_refusal(answer, change=change(kind))
    assert (refusal in found and bool(found)) if refusal else found == ""


def test_the_simulator_lists_each_change_in_the_outbox_aimed_at_its_message():
    world = World()
    customers = world.inbound(
        account_phone="5531999990001", sender="5511988887777", name="", body="Oi", media=None
    )
    ours = world.send("5531999990001", to=CHAT, body="Olá", message_id="3EB00000000000000001")["id"]

    world.page_change("5531999990001", kind="reaction", target=customers, value="👍")
    world.page_change("5531999990001", kind="edit", target=ours, value="Olá, Maria")
    world.page_change("5531999990001", kind="revoke", target=ours)

    outbox = [
        {k: v for k, v in e.items() if k not in ("id", "t", "ack", "received_at")}
        for e in world.accounts["5531999990001"].outbox
    ]
    assert outbox == [
        {"kind": "message", "to": CHAT, "body": "Olá", "quoted": ""},
        {"kind": "reaction", "to": CHAT, "target": customers, "reaction": "👍"},
        {"kind": "edit", "to": CHAT, "target": ours, "body": "Olá, Maria"},
        {"kind": "revoke", "to": CHAT, "target": ours},
    ]
    assert world.messages("5531999990001", CHAT, 5)[-1]["body"] == "Olá, Maria"
    with pytest.raises(LookupError, match="not sent by this account"):
        world.page_change("5531999990001", kind="edit", target=customers, value="x")
    with pytest.raises(LookupError, match="not found"):
        world.page_change("5531999990001", kind="reaction", target="true_x@c.us_NOPE", value="👍")


# WhatsApp Web's part: it makes the reaction, refuses the edit, and is offline for the deletion.
PAGE = """() => {
    window.calls = [];
    window.WPP = {chat: {
        sendReactionToMessage: async (...call) => { window.calls.push(["react", ...call]); return {sendMsgResult: "OK"}; },
        editMessage: async (...call) => { window.calls.push(["edit", ...call]); throw new Error("Message not found"); },
        deleteMessage: async (...call) => { window.calls.push(["delete", ...call]); throw new Error("offline"); },
    }};
}"""


@pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own
@pytest.mark.usefixtures("channel_layer")
def test_the_session_makes_each_change_and_marks_it_made_or_refused(session, settings, tmp_path):
    settings.WHATSAPP_LEASE = 60  # held for the whole test: no renewal runs here
    assert lease_renew(connection_id=session.connection_id, owner=session.owner)
    agent = UserFactory()
    message = MessageFactory(
        ticket__connection_id=session.connection_id,
        ticket__contact__wa_id=CHAT,
        from_me=True,
        author=agent,
        body="Olá",
        status=Message.Status.SENT,
        wa_id=TARGET,
    )
    message_react(message=message, by=agent, emoji="👍")
    message_edit(message=message, by=agent, body="Olá, Maria")
    message_delete(message=message, by=agent)

    async def send_changes() -> list:
        async with session_page(session, PAGE, profile=tmp_path / "profile") as page:
            await session.messages.send_queued()
            return await page.evaluate("window.calls")

    assert Connection.objects.get(pk=session.connection_id).status == Connection.Status.CONNECTED
    assert asyncio.run(send_changes()) == [
        ["react", TARGET, "👍"],
        ["edit", TARGET, "Olá, Maria"],
        ["delete", CHAT, TARGET, True, True],
    ]
    assert list(MessageChange.objects.order_by("id").values_list("kind", "status")) == [
        ("reaction", "sent"),
        ("edit", "failed"),
        ("delete", "queued"),  # not its fault: made when WhatsApp is back
    ]
    assert MessageChange.objects.get(kind="edit").error.endswith("Error: Message not found")
    line = message.ticket.messages.get(kind=Message.Kind.SYSTEM)
    assert "WhatsApp refused the edit of" in line.system_text() and "Message not found" in line.system_text()
