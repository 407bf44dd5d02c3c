"""Who a chat is: the page's ``getPnLidEntry`` answer read as untrusted input, asked once per chat by
a session, and played by the simulator with the shapes of wa-js's ``PnLidEntryResult``."""

import asyncio

import pytest

from whatsapp.addresses import UNMAPPED_RECHECK, People, lid_of
from whatsapp.simulator.app import BadRequest, control_messages
from whatsapp.simulator.world import World
from whatsapp.wire import Person, inbound_message, person_from_pn_lid_entry

PHONE_ID, LID_ID = "5511988887777@c.us", "123456789012345@lid"


def pn_lid_wid(serialized: str) -> dict:
    user, server = serialized.split("@")
    return {"id": user, "server": server, "_serialized": serialized}


ENTRY = {"lid": pn_lid_wid(LID_ID), "phoneNumber": pn_lid_wid(PHONE_ID), "contact": {"pushname": "Maria"}}
MAPPED = Person(address=PHONE_ID, alias=LID_ID, phone="5511988887777")


def test_a_chat_id_alone_tells_a_phone_only_for_a_phone_id():
    assert inbound_message({"from": PHONE_ID}).person == Person(address=PHONE_ID, phone="5511988887777")
    assert inbound_message({"from": LID_ID}).person == Person(address=LID_ID)  # never the LID's digits
    assert inbound_message({"from": "120363041234567890@g.us"}).person == Person(
        address="120363041234567890@g.us"
    )


@pytest.mark.parametrize("asked", [LID_ID, PHONE_ID])
def test_a_mapping_is_read_from_either_side(asked):
    assert person_from_pn_lid_entry(ENTRY, asked=asked) == MAPPED


@pytest.mark.parametrize(
    ("reply", "asked", "expected"),
    [
        ({"lid": pn_lid_wid(LID_ID)}, LID_ID, Person(address=LID_ID)),  # the phone is hidden
        ({"phoneNumber": pn_lid_wid(PHONE_ID)}, PHONE_ID, Person(address=PHONE_ID, phone="5511988887777")),
        # an answer about someone else, or with ids that are no LID and phone id: nothing learned
        ({**ENTRY, "lid": pn_lid_wid("999@lid")}, LID_ID, Person(address=LID_ID)),
        ({**ENTRY, "phoneNumber": pn_lid_wid("120363@g.us")}, LID_ID, Person(address=LID_ID)),
        (
            {**ENTRY, "lid": pn_lid_wid("5511977776666@c.us")},
            PHONE_ID,
            Person(address=PHONE_ID, phone="5511988887777"),
        ),
        ({"lid": "x" * 10_000, "phoneNumber": ["?"]}, LID_ID, Person(address=LID_ID)),
        (None, LID_ID, Person(address=LID_ID)),
        ("<script>", PHONE_ID, Person(address=PHONE_ID, phone="5511988887777")),
    ],
)
def test_an_answer_that_tells_no_mapping_leaves_the_chat_alone(reply, asked, expected):
    assert person_from_pn_lid_entry(reply, asked=asked) == expected


def test_lid_of_names_the_lid_among_a_contacts_addresses():
    assert lid_of(PHONE_ID, LID_ID) == LID_ID
    assert lid_of(LID_ID, None) == LID_ID
    assert lid_of(PHONE_ID, None) is None


def test_a_session_asks_whatsapp_about_each_chat_once_and_about_an_unmapped_one_again_later():
    asked, now = [], [0.0]
    entries = {LID_ID: ENTRY, "777@lid": {"lid": pn_lid_wid("777@lid")}}

    async def ask(chat: str):
        asked.append(chat)
        if chat not in entries:
            raise RuntimeError("InvalidWidForGetPnLidEntry")
        return entries[chat]

    people = People(ask, clock=lambda: now[0])

    async def look(*chats: str) -> list[Person]:
        return [await people.person(chat) for chat in chats]

    first = asyncio.run(look(LID_ID, LID_ID, "777@lid", "777@lid", "120363@g.us", "5511900000000@c.us"))
    assert first == [
        MAPPED,
        MAPPED,
        Person(address="777@lid"),
        Person(address="777@lid"),
        Person(address="120363@g.us"),  # a group is never asked about
        Person(address="5511900000000@c.us", phone="5511900000000"),  # an error: the chat's id alone
    ]
    assert asked == [LID_ID, "777@lid", "5511900000000@c.us"]

    entries["777@lid"] = {"lid": pn_lid_wid("777@lid"), "phoneNumber": pn_lid_wid("5511933334444@c.us")}
    now[0] = UNMAPPED_RECHECK - 1
    assert asyncio.run(look("777@lid")) == [Person(address="777@lid")]
    now[0] = UNMAPPED_RECHECK + 1
    assert asyncio.run(look("777@lid", LID_ID)) == [
        Person(address="5511933334444@c.us", alias="777@lid", phone="5511933334444"),
        MAPPED,  # a mapping is kept
    ]
    assert asked == [LID_ID, "777@lid", "5511900000000@c.us", "777@lid"]


def simulated_message(world: World, **payload) -> str:
    status, answer = control_messages(world, {"account": "5511999990001", "body": "Olá", **payload})
    assert status == 201
    return answer["id"]


def test_the_simulator_writes_from_a_lid_and_maps_it_both_ways():
    world = World()

    message_id = simulated_message(world, **{"from": "5511988887777", "lid": "123456789012345"})
    hidden_id = simulated_message(world, lid="222", phone_hidden=True)

    assert message_id.startswith("false_123456789012345@lid_")
    assert world.accounts["5511999990001"].chats[LID_ID][0]["from"] == LID_ID
    assert world.pn_lid_entry(LID_ID) == {"lid": LID_ID, "phoneNumber": PHONE_ID}
    assert world.pn_lid_entry(PHONE_ID) == {"phoneNumber": PHONE_ID, "lid": LID_ID}
    assert hidden_id.startswith("false_222@lid_")
    assert world.pn_lid_entry("222@lid") == {"lid": "222@lid"}
    assert world.pn_lid_entry("5511977776666@c.us") == {"phoneNumber": "5511977776666@c.us"}
    simulated_message(world, lid="123456789012345")  # the LID alone: its mapping stays
    assert world.pn_lid_entry(LID_ID) == {"lid": LID_ID, "phoneNumber": PHONE_ID}
    with pytest.raises(ValueError):
        world.pn_lid_entry("120363@g.us")
    with pytest.raises(BadRequest):
        control_messages(world, {"account": "5511999990001", "from": "5511988887777", "phone_hidden": True})


def test_a_reply_to_a_lid_goes_to_the_lid():
    world = World()

    sent = world.send("5511999990001", to="222@lid", body="Oi")

    assert sent["to"] == "222@lid" and sent["id"].startswith("true_222@lid_")
    assert [(m["to"], m["body"]) for m in world.accounts["5511999990001"].outbox] == [("222@lid", "Oi")]
