"""Chat lanes: each chat's messages stored in order, different chats at the same time.

A session hears messages of many chats. Storing them one after another would
let one chat's slow media download, or a burst from one customer, hold up every
other customer. Each chat gets a lane instead: a lane stores its chat's
messages strictly in arrival order, and up to ``concurrency`` lanes work at
once. What arrives while a lane is busy is handed over as one batch the next
time round, so a busy chat costs one transaction per batch, not per message.
"""

import asyncio
from collections.abc import Awaitable, Callable

from whatsapp.wire import InboundMessage

Handler = Callable[[str, list[InboundMessage]], Awaitable[None]]


class ChatLanes:
    def __init__(self, handle: Handler, *, concurrency: int) -> None:
        self.handle = handle  # awaited with (chat, messages in order); reports its own errors
        self.waiting: dict[str, list[InboundMessage]] = {}
        self.running: dict[str, asyncio.Task] = {}
        self.slots = asyncio.Semaphore(concurrency)

    def put(self, chat: str, message: InboundMessage) -> None:
        self.waiting.setdefault(chat, []).append(message)
        if chat not in self.running:
            self.running[chat] = asyncio.get_running_loop().create_task(self._run(chat))

    async def drain(self) -> None:
        """Return once every message put so far is handled."""
        while self.running:
            await asyncio.gather(*self.running.values())

    def close(self) -> None:
        """Stop at once; what was not stored yet comes back with the next catch-up."""
        for task in self.running.values():
            task.cancel()
        self.waiting.clear()

    async def _run(self, chat: str) -> None:
        try:
            while chat in self.waiting:
                async with self.slots:  # taken per batch, in turn: a chatty chat cannot keep it
                    await self.handle(chat, self.waiting.pop(chat))
        finally:
            del self.running[chat]
