"""Latency from a customer's message (simulator) to the agent's inbox page, at a steady 50
messages per second (``make bench``).

The clock stops when the inbox page's websocket, in Chromium, receives the
``message.new`` event: the path is simulator → WhatsApp Web page → session
worker → database → bus (Redis) → daphne → the agent's browser. Both ends read
the machine's wall clock.
"""

import statistics
import threading
import time

import pytest

from tests.benchmarks.test_sessions_bench import report
from tests.browser import sign_in
from tests.factories import QueueFactory, UserFactory
from tickets.models import Message
from whatsapp.services import connection_create, connection_request

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
RATE, COUNT, CUSTOMERS = 50, 500, 20
ACCOUNT = "5531999990001"

# Notes when each inbox event arrives, before the page's own handler sees it.
RECORD_ARRIVALS = """
window.arrivals = {};
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new NativeWebSocket(url, protocols);
  socket.addEventListener("open", () => { window.inboxOpen = true; });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "message.new") window.arrivals[event.message] = Date.now();
  });
  return socket;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
"""


def test_latency_to_the_agents_inbox_at_50_messages_per_second(engine, simulator, web, page):
    engine.start_worker()
    agent = UserFactory(username="latency")
    queue = QueueFactory()
    queue.members.add(agent)
    connection = connection_create(name="Latency")
    connection.queues.add(queue)
    connection_request(connection=connection, enabled=True)
    engine.connect(connection, phone=ACCOUNT)
    sign_in(page, web, agent)
    page.add_init_script(RECORD_ARRIVALS)
    page.goto(f"{web}/inbox/")
    page.wait_for_function("window.inboxOpen === true")
    sent_at: dict[str, float] = {}

    def send_steadily() -> None:
        started = time.monotonic()
        for n in range(COUNT):
            time.sleep(max(0.0, started + n / RATE - time.monotonic()))
            stamp = time.time()
            _, answer = simulator.post(
                "/_sim/messages",
                {
                    "account": ACCOUNT,
                    "from": f"55319{n % CUSTOMERS:08d}",
                    "name": "Cliente",
                    "body": f"mensagem {n}",
                },
            )
            sent_at[answer["id"]] = stamp

    sender = threading.Thread(target=send_steadily)
    sender.start()
    sender.join()
    page.wait_for_function(f"Object.keys(window.arrivals).length >= {COUNT}", timeout=120_000)
    arrivals = {int(pk): at / 1000 for pk, at in page.evaluate("window.arrivals").items()}

    wa_ids = dict(Message.objects.filter(pk__in=arrivals, from_me=False).values_list("pk", "wa_id"))
    latencies = sorted(arrivals[pk] - sent_at[wa_id] for pk, wa_id in wa_ids.items())
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    report(
        f"simulator message → agent's inbox page (websocket, Chromium) at {RATE} msg/s",
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (n={len(latencies)})",
    )
