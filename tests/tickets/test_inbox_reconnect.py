"""Redis restarted while the inbox is open: the page says it is reconnecting, then catches up with
what happened meanwhile (the events sent while the bus was down are lost; the page reads again)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db_connection
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.factories import ConnectionFactory, QueueFactory, UserFactory
from tests.processes import helpdesk_env, web_server
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def customer_writes(connection, number: int, body: str) -> None:
    """A message stored as the session would store it: in a thread of its own, since Playwright's
    event loop holds this one (and the realtime publish needs a thread without one)."""

    def ingest() -> None:
        try:
            message_ingest(connection=connection, message=inbound(number, body=body))
        finally:
            db_connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(ingest).result()


@pytest.fixture
def web_on_own_redis(restartable_redis, tmp_path):
    child, url = web_server(
        helpdesk_env(var_dir=tmp_path / "var", redis_url=restartable_redis.url, simulator=None),
        log=tmp_path / "web.log",
    )
    yield url
    child.stop()


def test_the_inbox_catches_up_after_redis_restarts(restartable_redis, web_on_own_redis, page):
    agent, queue = UserFactory(), QueueFactory()
    queue.members.add(agent)
    connection = ConnectionFactory()
    connection.queues.add(queue)
    customer_writes(connection, 1, "Bom dia")
    ticket = Ticket.objects.get()
    sign_in(page, web_on_own_redis, agent)
    page.goto(f"{web_on_own_redis}/inbox/{ticket.pk}/")
    banner = page.locator("#live-reconnecting")
    messages = page.locator("#messages")
    expect(messages).to_contain_text("Bom dia")
    restartable_redis.wait_for_groups()  # the page's socket has joined its groups

    customer_writes(connection, 2, "Live while the bus is up")
    expect(messages).to_contain_text("Live while the bus is up")  # the socket is really joined

    restartable_redis.stop()
    expect(banner).to_be_visible(timeout=20_000)
    customer_writes(connection, 3, "Arrived while Redis was down")
    assert Message.objects.filter(body="Arrived while Redis was down").exists()  # ingest went on
    expect(messages).not_to_contain_text("Arrived while Redis was down")

    restartable_redis.start()
    expect(banner).to_be_hidden(timeout=45_000)
    restartable_redis.wait_for_groups()
    expect(messages).to_contain_text("Arrived while Redis was down")
    expect(page.locator(f"#row-{ticket.pk}")).to_contain_text("Arrived while Redis was down")
    assert page.locator("#messages .msg").count() == 3  # caught up, nothing twice
