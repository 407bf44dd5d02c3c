"""Chat lanes: each chat's messages stored in order, different chats at the same time.

A session hears messages of many chats. Storing them one after another would
let one chat's slow media download, or a burst from one customer, hold up every
other customer. Each chat gets a lane instead: a lane stores its chat's
messages strictly in arrival order, and up to ``concurrency`` lanes work at
once. What arrives while a lane is busy is handed over as one batch the next
time round, so a busy chat costs one transaction per batch, not per message.

A batch whose handler raises is retried, after ``retry_delay(failures)``, before
anything after it in its chat: a chat's messages are stored in order or not at
all past a failure (the database away pauses a chat, it does not drop a batch).
Each failure is reported to ``failed``, which must not need the database.
"""

import asyncio
from collections.abc import Awaitable, Callable

from whatsapp.wire import InboundChange, InboundMessage

Item = InboundMessage | InboundChange  # a message, or a change of one (which follows it in its lane)
Handler = Callable[[str, list[Item]], Awaitable[None]]
Failed = Callable[[str, Exception, int], None]  # (chat, error, consecutive failures of this batch)


class ChatLanes:
    def __init__(
        self, handle: Handler, *, concurrency: int, retry_delay: Callable[[int], float], failed: Failed
    ) -> None:
        self.handle = handle  # awaited with (chat, messages in order); raises when the batch is not stored
        self.retry_delay, self.failed = retry_delay, failed
        self.waiting: dict[str, list[Item]] = {}
        self.running: dict[str, asyncio.Task] = {}
        self.slots = asyncio.Semaphore(concurrency)

    def put(self, chat: str, message: Item) -> None:
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
                await self._until_handled(chat, self.waiting.pop(chat))
        finally:
            del self.running[chat]

    async def _until_handled(self, chat: str, batch: list[Item]) -> None:
        failures = 0
        while True:
            async with self.slots:  # taken per attempt, in turn: a chatty or failing chat cannot keep it
                try:
                    await self.handle(chat, batch)
                    return
                except Exception as error:
                    failures += 1
                    self.failed(chat, error, failures)
            await asyncio.sleep(self.retry_delay(failures))
