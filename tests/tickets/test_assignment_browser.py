"""Round robin end to end: customers write through the simulator's phones, the session worker stores
their tickets, and each goes to one of the two agents whose inbox is open in Chromium, in turn; once
one closes their inbox page, the next tickets skip them."""

import pytest
from playwright.sync_api import expect

from helpdesk.presence import Presence, presence_of
from tests.browser import sign_in
from tests.factories import QueueFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_round_robin_alternates_between_the_open_inboxes_and_skips_one_that_closed(
    engine, simulator, web, browser, phone
):
    engine.start_worker()
    connection = engine.connected(phone)
    queue = QueueFactory(name="Vendas", assignment=Queue.Assignment.ROUND_ROBIN)
    ana, bia = UserFactory(first_name="Ana"), UserFactory(first_name="Bia")
    queue.members.add(ana, bia)
    connection.queues.add(queue)  # its only queue: a new ticket enters it at once
    pages = {}
    for agent in (ana, bia):
        pages[agent] = browser.new_context().new_page()
        sign_in(pages[agent], web, agent)
        pages[agent].goto(f"{web}/inbox/?tab=mine")
        expect(pages[agent].locator("#presence .presence")).to_have_attribute("data-presence", "online")

    def customer_writes(number: int):
        customer = f"55119888{number:05d}"
        status, body = simulator.post(
            "/_sim/messages", {"account": phone, "from": customer, "name": f"Cliente {number}", "body": "Oi"}
        )
        assert status == 201, body
        wait_until(
            lambda: Ticket.objects.filter(contact__wa_id=f"{customer}@c.us").exclude(assignee=None).exists(),
            timeout=30,
            message=f"customer {number}'s ticket assigned",
        )
        ticket = Ticket.objects.get(contact__wa_id=f"{customer}@c.us")
        return ticket, ticket.assignee

    shared = [customer_writes(number) for number in range(1, 5)]

    assert [agent for _ticket, agent in shared] == [ana, bia, ana, bia]
    for ticket, agent in shared:  # each appears live in its agent's Mine
        expect(pages[agent].locator(f"#row-{ticket.pk}")).to_be_visible()
    assert shared[0][0].messages.filter(body="The helpdesk gave the ticket to Ana").exists()

    pages[bia].close()
    wait_until(
        lambda: presence_of(user_ids=[bia.pk])[bia.pk] == Presence.OFFLINE, timeout=5, message="Bia off"
    )

    assert [customer_writes(number)[1] for number in range(5, 7)] == [ana, ana]
