"""An agent's reaction, edit and deletion reach the customer's phone, from the ticket page in Chromium
and from the API: the simulator's outbox lists each, aimed at the WhatsApp id of its message.

The whole chain is real: the simulator's phone, a session worker with Chromium, daphne serving the
page, the API and the websockets, and the agent's Chromium.
"""

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from helpdesk.models import ApiToken
from tests.browser import sign_in
from tests.factories import StaffFactory
from tests.processes import wait_until
from tickets.models import Message, MessageChange, Reaction, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

PHONE, CUSTOMER = "5531999990047", "5511988880047"


def test_an_agents_reaction_edit_and_deletion_reach_the_phone(engine, simulator, web, page):
    engine.start_worker()
    ana = StaffFactory(username="ana", first_name="Ana")
    engine.connected(PHONE, "Main number")
    status, sent = simulator.post(
        "/_sim/messages", {"account": PHONE, "from": CUSTOMER, "name": "Maria", "body": "Preciso de ajuda"}
    )
    assert status == 201, sent
    wait_until(lambda: Ticket.objects.exists(), message="the customer's ticket")
    ticket = Ticket.objects.get()
    sign_in(page, web, ana)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    customers = page.locator("#messages .msg.in")
    expect(customers).to_contain_text("Preciso de ajuda")

    # Ana answers; once WhatsApp has it, her bubble offers Edit and Delete for everyone.
    page.locator("#composer-body").fill("Olá Maria, já vejo")
    page.locator("#composer-body").press("Enter")
    mine = page.locator("#messages .msg.out").filter(has_text="Olá Maria")
    expect(mine.locator("[data-action=edit]")).to_be_visible(timeout=15_000)
    answer = Message.objects.get(body__endswith="Olá Maria, já vejo")  # signed: "*Ana:*\n..."

    # A reaction to the customer's message.
    customers.locator(".msg-react summary").click()
    customers.locator("[data-react='👍']").click()
    # An edit of her answer, inline.
    mine.locator("[data-action=edit]").click()
    mine.locator("textarea[name=body]").fill("Olá Maria, já estou vendo")
    mine.get_by_role("button", name="Save").click()
    edited = page.locator("#messages .msg.out").filter(has_text="Olá Maria, já estou vendo")
    expect(edited).to_be_visible()
    # Deleted for everyone, after the confirm.
    page.once("dialog", lambda dialog: dialog.accept())
    edited.locator("[data-action=delete]").click()
    expect(edited.locator("[data-action=delete]")).to_have_count(0)

    wait_until(lambda: len(changes(simulator)) == 3, message="three changes on the customer's phone")
    chat = f"{CUSTOMER}@c.us"
    assert [{k: v for k, v in c.items() if k not in ("id", "t")} for c in changes(simulator)] == [
        {"kind": "reaction", "to": chat, "target": sent["id"], "reaction": "👍"},
        {"kind": "edit", "to": chat, "target": answer.wa_id, "body": "Olá Maria, já estou vendo"},
        {"kind": "revoke", "to": chat, "target": answer.wa_id},
    ]
    wait_until(lambda: not MessageChange.objects.exclude(status="sent").exists(), message="all marked sent")
    assert Reaction.objects.get().emoji == "👍" and Message.objects.get(pk=answer.pk).deleted_at

    # Through the API: the reaction changes, then goes.
    _token, key = ApiToken.issue(user=ana)
    customer_message = Message.objects.get(wa_id=sent["id"])
    for emoji in ("🙏", ""):
        reacted = api(web, key, f"messages/{customer_message.pk}/reaction", {"emoji": emoji})
        assert reacted["reactions"] == ([{"emoji": "🙏", "from_me": True}] if emoji else [])
    wait_until(lambda: len(changes(simulator)) == 5, message="the API's reactions on the phone")
    assert [(c["kind"], c["target"], c["reaction"]) for c in changes(simulator)[3:]] == [
        ("reaction", sent["id"], "🙏"),
        ("reaction", sent["id"], ""),
    ]


def changes(simulator) -> list[dict]:
    """What the helpdesk changed on the customer's phone, oldest first (the outbox's other entries)."""
    outbox = simulator.get(f"/_sim/outbox?account={PHONE}")["messages"]
    return [entry for entry in outbox if entry["kind"] != "message"]


def api(web: str, key: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{web}/api/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
