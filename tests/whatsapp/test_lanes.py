"""Chat lanes: each chat in order, chats side by side, a busy chat's backlog as one batch, a failed
batch tried again before anything after it."""

import asyncio

from asgiref.sync import async_to_sync

from whatsapp.lanes import ChatLanes


def lanes_for(handle, concurrency: int, failures: list | None = None) -> ChatLanes:
    """Lanes retrying at once, noting each failure as (chat, error text, failures in a row)."""

    def failed(chat: str, error: Exception, count: int) -> None:
        if failures is None:
            raise AssertionError(f"unexpected failure in {chat}: {error}")
        failures.append((chat, str(error), count))

    return ChatLanes(handle, concurrency=concurrency, retry_delay=lambda failures: 0.001, failed=failed)


def run_lanes(concurrency: int, *, first: list[tuple[str, int]], then: list[tuple[str, int]]) -> list:
    """Put ``first``, let the lanes start, put ``then``; chat "slow" is slow until chat "fast" is handled."""

    async def run() -> list[tuple[str, list[int]]]:
        handled: list[tuple[str, list[int]]] = []
        fast_done = asyncio.Event()

        async def handle(chat: str, batch: list[dict]) -> None:
            if chat == "slow" and not handled:
                await asyncio.wait_for(fast_done.wait(), timeout=1)
            handled.append((chat, [message["n"] for message in batch]))
            if chat == "fast":
                fast_done.set()

        lanes = lanes_for(handle, concurrency)
        for chat, n in first:
            lanes.put(chat, {"n": n})
        await asyncio.sleep(0)  # the lanes start
        for chat, n in then:
            lanes.put(chat, {"n": n})
        await lanes.drain()
        return handled

    return async_to_sync(run)()


def test_a_slow_chat_keeps_its_order_while_another_goes_ahead():
    handled = run_lanes(2, first=[("slow", 1), ("fast", 2)], then=[("slow", 3), ("slow", 4)])

    assert handled == [("fast", [2]), ("slow", [1]), ("slow", [3, 4])]  # 3 and 4 waited together


def test_lanes_take_turns_when_there_are_more_chats_than_slots():
    async def run() -> list[str]:
        order: list[str] = []

        async def handle(chat: str, batch: list[dict]) -> None:
            order.append(chat)
            await asyncio.sleep(0.01)
            if chat == "busy" and len(order) == 1:
                lanes.put("busy", {})  # the busy customer writes again meanwhile

        lanes = lanes_for(handle, 1)
        lanes.put("busy", {})
        lanes.put("quiet", {})
        await lanes.drain()
        return order

    assert async_to_sync(run)() == ["busy", "quiet", "busy"]


def test_a_failed_batch_is_tried_again_before_the_chats_next_messages():
    """Issue 9: a batch that failed (the database away) used to be dropped while the lane went on."""

    async def run() -> tuple[list, list]:
        stored: list[tuple[str, list[int]]] = []
        failures: list = []
        outage = {"left": 2}

        async def handle(chat: str, batch: list[dict]) -> None:
            if chat == "a" and outage["left"]:
                outage["left"] -= 1
                lanes.put("a", {"n": 3})  # the customer writes on during the outage
                raise ConnectionError("database away")
            stored.append((chat, [message["n"] for message in batch]))

        lanes = lanes_for(handle, 2, failures)
        lanes.put("a", {"n": 1})
        lanes.put("a", {"n": 2})
        lanes.put("b", {"n": 10})
        await lanes.drain()
        return stored, failures

    stored, failures = async_to_sync(run)()

    assert [batch for chat, batch in stored if chat == "a"] == [[1, 2], [3, 3]]
    assert ("b", [10]) in stored
    assert failures == [("a", "database away", 1), ("a", "database away", 2)]


def test_a_retry_waits_its_delay_and_lets_other_chats_use_the_slot():
    async def run() -> list:
        order: list = []
        delays: list[int] = []

        async def handle(chat: str, batch: list[dict]) -> None:
            order.append(chat)
            if chat == "a" and order.count("a") == 1:
                raise ConnectionError("database away")

        def delay(failures: int) -> float:
            delays.append(failures)
            return 0.05

        lanes = ChatLanes(handle, concurrency=1, retry_delay=delay, failed=lambda *args: None)
        lanes.put("a", {})
        lanes.put("b", {})
        await lanes.drain()
        return order, delays

    order, delays = async_to_sync(run)()

    assert order == ["a", "b", "a"]  # "b" went while "a" waited out its delay
    assert delays == [1]
