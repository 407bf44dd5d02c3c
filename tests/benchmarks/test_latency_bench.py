"""Latency from a customer's message (simulator) to the event agents' websockets get,
at a steady 50 messages per second (``make bench``)."""

import asyncio
import statistics
import threading
import time

import pytest
from asgiref.sync import async_to_sync

from helpdesk.realtime import TICKETS_GROUP
from tests.benchmarks.test_sessions_bench import report
from tickets.models import Message
from whatsapp.services import connection_create, connection_request

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
RATE, COUNT = 50, 500


def test_latency_to_the_agents_bus_at_50_messages_per_second(engine, simulator, channel_layer):
    engine.start_worker()
    connection = connection_create(name="Latency")
    connection_request(connection=connection, enabled=True)
    engine.connect(connection, phone="5531999990001")
    sent_at: dict[str, float] = {}

    def send_steadily() -> None:
        for n in range(COUNT):
            due = started + n / RATE
            time.sleep(max(0.0, due - time.monotonic()))
            stamp = time.monotonic()
            _, answer = simulator.post("/_sim/messages", {"account": "5531999990001", "from": f"55319{n % 20:08d}",
                                                          "name": "Cliente", "body": f"mensagem {n}"})  # fmt: skip
            sent_at[answer["id"]] = stamp

    async def listen() -> dict[int, float]:
        channel = await channel_layer.new_channel()
        await channel_layer.group_add(TICKETS_GROUP, channel)
        received: dict[int, float] = {}
        while len(received) < COUNT:
            event = await asyncio.wait_for(channel_layer.receive(channel), timeout=60)
            if event["type"] == "message.new":
                received[event["message"]] = time.monotonic()
        return received

    started = time.monotonic() + 1  # the listener subscribes first
    sender = threading.Thread(target=send_steadily)
    sender.start()
    received = async_to_sync(listen)()
    sender.join()

    wa_ids = dict(Message.objects.filter(pk__in=received).values_list("pk", "wa_id"))
    latencies = sorted(received[pk] - sent_at[wa_ids[pk]] for pk in received)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    report(f"simulator message → agents' bus event at {RATE} msg/s",
           f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (n={len(latencies)})")  # fmt: skip
