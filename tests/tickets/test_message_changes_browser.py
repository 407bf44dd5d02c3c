"""A customer edits, deletes and reacts on their phone: the open ticket page shows each change live,
through the simulator, the session and the bus, and no change adds a message."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import QueueFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket
from tickets.outbound import message_send

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT, CUSTOMER = "5531999990008", "5511977776666"


def test_the_customers_edit_deletion_and_reaction_show_live_and_add_no_row(engine, simulator, web, page):
    engine.start_worker()
    agent = UserFactory()
    support = QueueFactory()
    support.members.add(agent)
    engine.connected(ACCOUNT, "Vendas", queues=[support])

    def customer(**fields) -> str:
        status, body = simulator.post("/_sim/messages", {"account": ACCOUNT, "from": CUSTOMER, **fields})
        assert status == 201, body
        return body["id"]

    question = customer(name="Maria", body="Qual o preço?")
    oops = customer(body="meu cartão é 4111 1111")
    wait_until(lambda: Message.objects.filter(wa_id=oops).exists(), timeout=15, message="both stored")
    ticket = Ticket.objects.get()
    sign_in(page, web, agent)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    first, second = (page.locator(f"#msg-{Message.objects.get(wa_id=w).pk}") for w in (question, oops))
    expect(second).to_contain_text("4111")
    page.evaluate("window.sameDocument = true")

    customer(edit_of=question, body="Qual o preço do plano anual?")
    customer(reaction_to=question, reaction="👍")
    customer(revoke_of=oops)

    expect(first.locator(".text").first).to_have_text("Qual o preço do plano anual?", timeout=15_000)
    expect(first.locator("[data-edited]")).to_be_visible()
    first.locator(".revisions summary").click()
    expect(first.locator(".revisions li")).to_contain_text("Qual o preço?")
    expect(first.locator("[data-reactions] [data-emoji='👍']")).to_be_visible()
    expect(second).to_have_attribute("data-deleted", "")
    expect(second).to_contain_text("Deleted by the customer")
    expect(second).not_to_contain_text("4111")

    customer(reaction_to=question, reaction="❤️")  # replaced
    expect(first.locator("[data-reactions] li")).to_have_text("❤️", timeout=15_000)
    customer(reaction_to=question, reaction="")  # removed
    expect(first.locator("[data-reactions]")).to_have_count(0, timeout=15_000)

    # The agent answers; the customer tries to delete the answer (ignored), then reacts to it.
    reply = message_send(ticket=ticket, author=agent, body="O anual sai por R$ 100")
    wait_until(lambda: Message.objects.get(pk=reply.pk).wa_id, timeout=20, message="the reply sent")
    reply.refresh_from_db()
    customer(revoke_of=reply.wa_id)
    customer(reaction_to=reply.wa_id, reaction="🙏")  # in the chat's lane after the deletion: both handled
    answer = page.locator(f"#msg-{reply.pk}")
    expect(answer.locator("[data-reactions] [data-emoji='🙏']")).to_be_visible(timeout=15_000)
    expect(answer).not_to_have_attribute("data-deleted", "")
    expect(answer).to_contain_text("R$ 100")
    assert page.evaluate("window.sameDocument") is True

    ticket.refresh_from_db()
    # the page read the ticket when it opened; none of the changes counts as unread
    assert Message.objects.filter(ticket=ticket).count() == 3 and ticket.unread_count == 0
    assert Message.objects.get(pk=reply.pk).deleted_at is None
    assert Message.objects.get(wa_id=oops).body == ""  # DELETED_CONTENT_KEEP_DAYS is 0
