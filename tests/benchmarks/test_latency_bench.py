"""Latency between a customer's phone (simulator) and an agent's page in Chromium (``make bench``).

- A customer's message → the agent's inbox page at a steady 50 messages per second:
  the clock stops when the page's websocket receives the ``message.new`` event.
- A customer's message → the agent's open ticket page shows it, at a steady 50
  messages per second for ``BENCH_LATENCY_SECONDS`` (60): the clock stops when the
  message's bubble is added to the conversation (a MutationObserver).
- An agent's answer, typed in the ticket page's composer and sent with Enter → the
  simulator's phone has it (its outbox's ``received_at``), ``BENCH_ANSWERS`` (100) of
  them one after the other, before the burst (on an idle page).

The path in: simulator → WhatsApp Web page → session worker → database → bus
(Redis) → daphne → the agent's browser (which then fetches the message's HTML).
Both ends read the machine's wall clock. The sender checks and reports the rate it
really achieved: a figure "at 50 msg/s" from a sender that fell behind would flatter.

The smoke run (tests/benchmarks/conftest.py): 25 messages, 2 answers, and any rate the sender achieves.
"""

import contextlib
import http.client
import json
import os
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.benchmarks.results import report
from tests.browser import sign_in
from tests.factories import QueueFactory, UserFactory
from tests.processes import wait_until
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
RATE, COUNT, CUSTOMERS = 50, 500, 20
ACCOUNT, TICKET_ACCOUNT = "5531999990001", "5531999990002"  # a phone per test
SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "60"))
ANSWERS = int(os.environ.get("BENCH_ANSWERS", "100"))
SENDERS = 4
SMOKE_COUNT, SMOKE_ANSWERS = 25, 2
RATE_TOLERANCE = 0.02  # of RATE: how far the rate the sender achieved may be from it, for a figure

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


def test_latency_to_the_agents_inbox_at_50_messages_per_second(engine, simulator, web, page, scale):
    count = scale.pick(COUNT, smoke=SMOKE_COUNT)
    agent = agent_on_a_connected_phone(engine, phone=ACCOUNT)
    sign_in(page, web, agent)
    page.add_init_script(RECORD_ARRIVALS)
    page.goto(f"{web}/inbox/")
    page.wait_for_function("window.inboxOpen === true")
    requests: list[str] = []  # what the page asked of the helpdesk while the events came
    page.on("request", lambda request: requests.append(urlsplit(request.url).path))
    sent_at = send_steadily(
        simulator,
        account=ACCOUNT,
        count=count,
        sender=lambda n: f"55319{n % CUSTOMERS:08d}",
        tolerance=scale.pick(RATE_TOLERANCE, smoke=1.0),
    )

    # a message never heard of is reported, then fails the test
    arrivals = recorded_times(page, "arrivals", sent_at, count=count, timeout=120, message="every event")
    latencies = report_path(
        f"simulator message → agent's inbox page (websocket, Chromium) at {RATE} msg/s",
        sent_at=sent_at,
        seen=arrivals,
        requests=requests,
    )
    report("  heard of", f"{len(latencies)} of {count}")
    assert len(latencies) == count, f"{len(latencies)} of {count} messages heard of by the page"


def recorded_times(
    page, record: str, sent_at: dict[str, float], *, count: int, timeout: float, message: str
) -> dict:
    """When the page recorded each message (``window.<record>``: id → ms), in seconds, once it has
    ``count`` of the customers' (``sent_at``) or ``timeout`` passed: the caller reports what is missing."""
    with contextlib.suppress(AssertionError):
        wait_until(
            lambda: recorded_of(page, record, sent_at) >= count,
            timeout=timeout,
            interval=0.5,
            message=message,
        )
    return {int(pk): at / 1000 for pk, at in page.evaluate(f"window.{record}").items()}


def recorded_of(page, record: str, sent_at: dict[str, float]) -> int:
    """How many of the customers' messages (``sent_at``) the page has in ``window.<record>``, which
    has our own messages too (greetings, menus, system lines): its size alone says too early."""
    recorded = page.evaluate(f"Object.keys(window.{record})")
    return Message.objects.filter(pk__in=[int(pk) for pk in recorded], wa_id__in=sent_at).count()


def agent_on_a_connected_phone(engine, *, phone: str):
    """An agent (Lia) in the one queue of a connection whose session runs, signed in to ``phone``."""
    engine.start_worker()
    agent = UserFactory(username="latency", first_name="Lia")
    queue = QueueFactory()
    queue.members.add(agent)
    engine.connected(phone, "Latency", queues=[queue])
    return agent


def report_path(
    label: str,
    *,
    sent_at: dict[str, float],
    seen: dict[int, float],
    requests: list[str],
    heard: dict[int, float] | None = None,
) -> list[float]:
    """Reports the latency from the phone to the page (``seen``: message id → when the page had it), and
    where it went: the session's side (sent to the row stored) and the helpdesk's (the row to the page,
    split at ``heard``, when the page's websocket had the event, if given); then what the page asked of
    the helpdesk meanwhile. Answers the latencies of the customers' messages."""
    stored = {
        pk: (sent_at[wa_id], created.timestamp())
        for pk, wa_id, created in Message.objects.filter(pk__in=seen, wa_id__in=sent_at).values_list(
            "pk", "wa_id", "created_at"
        )
    }
    latencies = [seen[pk] - sent for pk, (sent, _) in stored.items()]
    report(label, spread(latencies))
    report("  of which: simulator message → row stored", spread([at - sent for sent, at in stored.values()]))
    report("  of which: row stored → the page", spread([seen[pk] - at for pk, (_, at) in stored.items()]))
    if heard is not None:
        both = [pk for pk in stored if pk in heard]
        report("    row stored → the page hears of it", spread([heard[pk] - stored[pk][1] for pk in both]))
        report("    the page hears of it → the page has it", spread([seen[pk] - heard[pk] for pk in both]))
    paths = Counter(path for path in requests if not path.startswith("/_sim/")).most_common()  # not avatars
    report("  the page's requests to the helpdesk meanwhile", ", ".join(f"{n} × {path}" for path, n in paths))
    return latencies


def send_steadily(simulator, *, account: str, count: int, sender, tolerance: float) -> dict[str, float]:
    """Send ``count`` customer messages at ``RATE`` a second, each at its time on a fixed schedule;
    {WhatsApp id: wall-clock time sent}. Fails when the rate achieved is not ``RATE``, give or take
    ``tolerance`` of it.

    ``SENDERS`` threads take turns, each with its own kept-alive HTTP connection, so a slow
    answer of the simulator delays no other message (a new connection per message costs
    more than the 20 ms between two).
    """
    sent_at: dict[str, float] = {}
    sends: list[tuple[float, float]] = []  # (when, how late)
    started = time.monotonic() + 0.1

    def send_turns(first: int) -> None:
        control = http.client.HTTPConnection(urlsplit(simulator.url).netloc, timeout=30)
        for n in range(first, count, SENDERS):
            due = started + n / RATE
            time.sleep(max(0.0, due - time.monotonic()))
            now, stamp = time.monotonic(), time.time()
            body = {"account": account, "from": sender(n), "name": "Cliente", "body": f"mensagem {n}"}
            control.request("POST", "/_sim/messages", json.dumps(body), {"Content-Type": "application/json"})
            response = control.getresponse()
            answer = json.loads(response.read())
            assert response.status == 201, answer
            sent_at[answer["id"]] = stamp
            sends.append((now, now - due))
        control.close()

    with ThreadPoolExecutor(SENDERS) as pool:
        for done in [pool.submit(send_turns, first) for first in range(SENDERS)]:
            done.result()
    times, lags = sorted(when for when, _ in sends), [lag for _, lag in sends]
    achieved = (count - 1) / (times[-1] - times[0])
    report(
        f"sender: {count} messages at {RATE} msg/s planned",
        f"{achieved:.2f} msg/s achieved (first send to last), lag behind schedule "
        f"p50 {statistics.median(lags) * 1000:.1f} ms, max {max(lags) * 1000:.0f} ms",
    )
    assert abs(achieved - RATE) <= tolerance * RATE, f"the sender achieved {achieved:.2f} msg/s, not {RATE}"
    return sent_at


def spread(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    return (
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"
    )


# Notes when each message's bubble is added to the open ticket's conversation.
RECORD_SHOWN = """() => {
window.shown = {};
new MutationObserver((records) => {
  const now = Date.now();
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const bubbles = node.matches("[data-message]") ? [node] : node.querySelectorAll("[data-message]");
      for (const bubble of bubbles) window.shown[bubble.dataset.message] ??= now;
    }
  }
}).observe(document.getElementById("messages"), { childList: true, subtree: true });
}"""


def test_latency_to_the_agents_open_ticket_and_back_to_the_phone(engine, simulator, web, page, scale):
    answers = scale.pick(ANSWERS, smoke=SMOKE_ANSWERS)
    agent = agent_on_a_connected_phone(engine, phone=TICKET_ACCOUNT)
    customer = "5531900000777"
    simulator.post(
        "/_sim/messages", {"account": TICKET_ACCOUNT, "from": customer, "name": "Cliente", "body": "Oi"}
    )
    wait_until(
        lambda: Ticket.objects.filter(contact__phone=customer).exists(), message="the customer's ticket"
    )
    ticket = Ticket.objects.get(contact__phone=customer)
    sign_in(page, web, agent)
    page.add_init_script(RECORD_ARRIVALS)
    page.goto(f"{web}/inbox/{ticket.pk}/")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("button", name="Return to waiting")).to_be_visible()
    # The answers first, on an idle page: during the burst they would wait behind its requests.
    composer = page.locator("#composer-body")
    latencies = []
    for n in range(answers):
        text = f"resposta {n}"
        composer.fill(text)
        started = time.time()
        composer.press("Enter")
        landed = wait_until(
            lambda text=text: next(
                (
                    m
                    for m in simulator.get(f"/_sim/outbox?account={TICKET_ACCOUNT}")["messages"]
                    if m["body"].endswith(text)
                ),
                None,
            ),
            timeout=30,
            message=f"answer {n} on the phone",
        )
        latencies.append(landed["received_at"] - started)
        expect(composer).to_have_value("")
    report(
        f"agent's answer (ticket page, Enter) → the simulator's phone has it, {answers} one after another",
        spread(latencies),
    )

    page.evaluate(RECORD_SHOWN)
    count = scale.pick(round(RATE * SECONDS), smoke=SMOKE_COUNT)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(urlsplit(request.url).path))

    sent_at = send_steadily(
        simulator,
        account=TICKET_ACCOUNT,
        count=count,
        sender=lambda n: customer,
        tolerance=scale.pick(RATE_TOLERANCE, smoke=1.0),
    )
    # a message never shown is reported, then fails the test
    shown = recorded_times(page, "shown", sent_at, count=count, timeout=60, message="every bubble")
    latencies = report_path(
        f"simulator message → agent's open ticket page shows it (Chromium) at {RATE} msg/s for {count / RATE:.0f} s",
        sent_at=sent_at,
        seen=shown,
        requests=requests,
        heard={int(pk): at / 1000 for pk, at in page.evaluate("window.arrivals").items()},
    )
    stored = Message.objects.filter(ticket=ticket, wa_id__in=sent_at).count()
    report("  stored, shown", f"{stored} of {count} stored, {len(latencies)} shown")
    report("  bubbles in the page at the end", str(page.locator("#messages .msg").count()))
    assert len(latencies) == stored == count, f"{stored} of {count} stored, {len(latencies)} shown"
