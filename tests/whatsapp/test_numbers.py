"""Brazil's ninth digit: which numbers may be one person (whatsapp/numbers.py), what WhatsApp
answers it uses (wire.exists_id), and the simulator playing ``queryExists``."""

import pytest

from whatsapp import wire
from whatsapp.numbers import ninth_digit_key, ninth_digit_twin, phone_addresses
from whatsapp.simulator.world import World


@pytest.mark.parametrize(
    ("digits", "twin"),
    [
        ("551188887777", "5511988887777"),  # a mobile typed without its ninth digit
        ("5511988887777", "551188887777"),
        ("552196543210", "5521996543210"),  # mobiles start with 6 to 9
        ("551133334444", None),  # a landline (starts with 2 to 5) has no ninth digit
        ("5511933334444", None),
        ("550188887777", None),  # no area code starts or ends with 0
        ("14155550123", None),  # another country
        ("55118888777", None),  # too short to be a mobile
    ],
)
def test_a_brazilian_mobile_has_a_twin_written_the_other_way(digits, twin):
    assert ninth_digit_twin(digits) == twin


def test_both_ways_of_writing_a_mobile_share_one_key_and_other_numbers_keep_theirs():
    assert ninth_digit_key("551188887777") == ninth_digit_key("5511988887777") == "5511988887777"
    assert ninth_digit_key("551133334444") == "551133334444"
    assert phone_addresses("551188887777") == ["551188887777@c.us", "5511988887777@c.us"]
    assert phone_addresses("14155550123") == ["14155550123@c.us"]


@pytest.mark.parametrize(
    ("answer", "address"),
    [
        ({"wid": "5511988887777@c.us", "biz": False}, "5511988887777@c.us"),  # a real Wid's toJSON
        ({"wid": {"_serialized": "5511988887777@c.us", "user": "5511988887777"}}, "5511988887777@c.us"),
        (None, None),  # no WhatsApp
        ({"wid": "120363000000000000@g.us"}, None),  # not a person
        ({"wid": "<script>@c.us"}, None),
        ({"wid": "1" * 80 + "@c.us"}, None),
        ("5511988887777@c.us", None),
    ],
)
def test_the_id_whatsapp_answers_is_read_as_untrusted_input(answer, address):
    assert wire.exists_id(answer) == address


def test_the_simulator_answers_the_id_with_the_ninth_digit_for_a_mobile_typed_without_it():
    world = World()

    assert world.exists("551188887777@c.us") == "5511988887777@c.us"
    assert world.exists("5511988887777@c.us") == "5511988887777@c.us"
    assert world.exists("551133334444@c.us") == "551133334444@c.us"  # a landline stays as typed
    assert world.exists("5511988880000@c.us") is None  # ends in 0000: no WhatsApp


def test_the_simulator_finds_the_phones_it_knows_typed_either_way():
    world = World()
    world.inbound(account_phone="5511999990001", sender="554899887766", name="Old", body="oi", media=None)
    world.inbound(account_phone="5511999990001", sender="5548987654321", name="New", body="oi", media=None)

    # an account WhatsApp still knows by its old eight digits answers that id, typed either way
    assert world.exists("5548999887766@c.us") == "554899887766@c.us"
    assert world.exists("554899887766@c.us") == "554899887766@c.us"
    assert world.exists("554887654321@c.us") == "5548987654321@c.us"
    assert world.exists("551199990001@c.us") == "5511999990001@c.us"  # an account, typed without its 9
