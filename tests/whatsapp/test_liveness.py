"""Sessions that only look alive, without a browser: the default arithmetic, the simulator's freeze,
and the WhatsApp Web version a session records (issue 19; end to end: test_frozen_sessions.py)."""

import asyncio

import pytest

from tests.factories import ConnectionFactory, StaffFactory
from tests.tickets.audit_helpers import audit, healthy_connection, healthy_machine  # noqa: F401 (fixture)
from whatsapp import wire
from whatsapp.models import Connection
from whatsapp.session import stalled_session_leaves_within
from whatsapp.simulator.app import Simulator, control_freeze
from whatsapp.simulator.world import WEB_VERSION, World

PHONE, CUSTOMER = "5511999990001", "5511988887777"


def test_with_the_default_settings_a_stalled_session_leaves_connected_within_90_s(settings):
    assert (settings.WHATSAPP_HEARTBEAT, settings.WHATSAPP_PROBE_TIMEOUT) == (15, 10)  # the defaults
    assert settings.WHATSAPP_SEND_ACK_TIMEOUT == 60

    assert stalled_session_leaves_within() <= 90
    assert stalled_session_leaves_within() == 60  # the acknowledgement's wait: the probe alone takes 25 s


def test_the_bound_grows_with_the_settings(settings):
    settings.WHATSAPP_HEARTBEAT, settings.WHATSAPP_PROBE_TIMEOUT, settings.WHATSAPP_SEND_ACK_TIMEOUT = (
        60,
        40,
        30,
    )

    assert stalled_session_leaves_within() == 100


# -- the simulator's freeze ---------------------------------------------------------------------------


def linked_page(world: World, token: str) -> list[dict]:
    """A page attached as device ``token`` and linked to PHONE: what it receives."""
    received: list[dict] = []
    world.device_attach(token, received.append)
    world._link(world.devices[token], PHONE)
    return received


def test_a_frozen_account_s_pages_hear_nothing_and_get_no_answer_and_only_a_new_page_comes_back():
    async def scenario():
        world = World()
        simulator = Simulator(world)
        page = linked_page(world, "device-1")
        assert {"type": "version", "version": WEB_VERSION} in page

        assert control_freeze(world, {"account": PHONE, "frozen": True}) == (200, {"frozen": True})
        page.clear()
        world.inbound(account_phone=PHONE, sender=CUSTOMER, name="Maria", body="durante", media=None)
        world.set_online(PHONE, True)
        asked = simulator.page_call("device-1", {"id": 1, "call": "exists", "args": {"id": f"{PHONE}@c.us"}})
        sent = simulator.page_call(
            "device-1", {"id": 2, "call": "send", "args": {"to": CUSTOMER, "body": "Oi"}}
        )

        assert (page, asked, sent) == ([], None, None)  # no event, no answer, nothing sent
        assert world.accounts[PHONE].outbox == []
        assert [m["body"] for m in world.messages(PHONE, f"{CUSTOMER}@c.us", 10)] == ["durante"]  # history

        control_freeze(world, {"account": PHONE, "frozen": False})
        world.inbound(account_phone=PHONE, sender=CUSTOMER, name="Maria", body="depois", media=None)
        assert page == []  # the open page stays dead after the unfreeze
        assert simulator.page_call("device-1", {"id": 3, "call": "chats"}) is None

        reloaded: list[dict] = []
        world.device_detach("device-1")
        world.device_attach("device-1", reloaded.append)  # a reload: the same token, logged in, no QR
        assert [event["type"] for event in reloaded] == ["version", "authenticated"]
        assert (
            simulator.page_call("device-1", {"id": 4, "call": "chats"})["result"][0]["id"]
            == f"{CUSTOMER}@c.us"
        )
        world.inbound(account_phone=PHONE, sender=CUSTOMER, name="Maria", body="ao vivo", media=None)
        assert reloaded[-1]["message"]["body"] == "ao vivo"

    asyncio.run(scenario())


def test_a_page_opened_while_frozen_stays_dead_until_it_attaches_again_after_the_unfreeze():
    async def scenario():
        world = World()
        linked_page(world, "device-1")
        world.freeze(PHONE, True)
        opened: list[dict] = []
        world.device_attach("device-1", opened.append)
        assert opened == []  # WhatsApp's servers do not answer: it never logs in
        world.freeze(PHONE, False)
        world.device_attach("device-1", opened.append)
        assert [event["type"] for event in opened] == ["version", "authenticated"]

    asyncio.run(scenario())


def test_freeze_refuses_what_is_not_true_or_false():
    with pytest.raises(Exception, match="frozen must be true or false"):
        control_freeze(World(), {"account": PHONE, "frozen": "yes"})


# -- the WhatsApp Web version ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "constants, version",
    [
        ({"VERSION_STR": "2.3000.1038792969"}, "2.3000.1038792969"),
        ({"VERSION_STR": "2.3000.0-simulator"}, "2.3000.0-simulator"),
        ({"VERSION_STR": "<script>"}, ""),
        ({"VERSION_STR": "2." * 30}, ""),  # longer than the column
        ({"VERSION_STR": 2.3}, ""),
        (None, ""),
    ],
)
def test_the_version_is_read_from_the_build_constants_and_checked(constants, version):
    assert wire.web_version(constants) == version


@pytest.mark.django_db
def test_the_connection_page_shows_the_version_it_runs(client):
    connection = ConnectionFactory(web_version="2.3000.1038792969")
    client.force_login(StaffFactory())

    page = client.get(f"/connections/{connection.pk}/").content.decode()

    assert '<span data-field="web_version">2.3000.1038792969</span>' in page


@pytest.mark.django_db
def test_the_admin_shows_the_version(client):
    connection = ConnectionFactory(web_version="2.3000.1038792969")
    client.force_login(StaffFactory(is_superuser=True))

    page = client.get(f"/admin/whatsapp/connection/{connection.pk}/change/").content.decode()

    assert "2.3000.1038792969" in page


@pytest.mark.django_db
def test_the_api_gives_the_version(api):
    connection = ConnectionFactory(web_version="2.3000.1038792969")

    assert api("GET", f"connections/{connection.pk}").json()["web_version"] == "2.3000.1038792969"


@pytest.mark.django_db
def test_the_metrics_name_each_connection_s_version_and_whether_it_was_tested(client):
    ConnectionFactory(name="Vendas", web_version=WEB_VERSION)
    untested = ConnectionFactory(name="Suporte", web_version="2.3000.1038792969")
    ConnectionFactory(name="Nova", web_version="")
    client.force_login(StaffFactory())

    text = client.get("/metrics").content.decode()

    assert f'name="Vendas",version="{WEB_VERSION}",tested="true"}} 1' in text
    assert (
        f'helpdesk_whatsapp_web_info{{connection="{untested.pk}",name="Suporte",'
        'version="2.3000.1038792969",tested="false"} 1'
    ) in text
    assert 'name="Nova"' not in text
    assert "helpdesk_sessions_stalled_total 0" in text


@pytest.mark.django_db
@pytest.mark.usefixtures("healthy_machine")
def test_the_audit_warns_about_a_version_not_tested_and_fix_does_not_restart_for_it():
    healthy_connection(name="Vendas", web_version=WEB_VERSION)
    untested = healthy_connection(name="Suporte", web_version="2.3000.1038792969")

    status, report = audit("--fix")

    assert status == 1, report
    assert (
        "[WARNING] Suporte: runs WhatsApp Web 2.3000.1038792969, a version the helpdesk has not been "
        f"tested with (tested: {WEB_VERSION})."
    ) in report
    assert "Vendas: runs" not in report
    untested.refresh_from_db()
    assert untested.command == ""  # a restart would not change the version
    assert Connection.objects.filter(command="").count() == 2
