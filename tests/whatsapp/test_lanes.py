"""Chat lanes: each chat in order, chats side by side, a busy chat's backlog as one batch."""

import asyncio

from asgiref.sync import async_to_sync

from whatsapp.lanes import ChatLanes


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

        lanes = ChatLanes(handle, concurrency=concurrency)
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

        lanes = ChatLanes(handle, concurrency=1)
        lanes.put("busy", {})
        lanes.put("quiet", {})
        await lanes.drain()
        return order

    assert async_to_sync(run)() == ["busy", "quiet", "busy"]
