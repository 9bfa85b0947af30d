"""Adaptive batching: requests that arrive while a batch is being scored wait and go together.

No timer: an idle service scores a lone request at once (batch of one); under load the queue
grows while the current batch runs, so batches grow with load, up to `max_size`. The batch
function runs in a worker thread so the event loop keeps parsing requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)


class AdaptiveBatcher:
    """`await submit(item)` → the item's result from `fn(items) -> results` (same order, same length).

    If `fn` raises, every request of that batch gets the exception.
    """

    def __init__(self, fn: Callable[[Sequence[Any]], Sequence[Any]], max_size: int = 32,
                 on_batch: Callable[[int], None] | None = None):
        self.fn = fn
        self.max_size = max_size
        self.on_batch = on_batch
        """Called with each scored batch's size after its requests are answered (e.g. a Prometheus
        histogram); an exception it raises is logged, never handed to the requests."""
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue))
        fut = loop.create_future()
        await self._queue.put((item, fut))
        return await fut

    async def _run(self, queue: asyncio.Queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await queue.get()
            batch = [first]
            while len(batch) < self.max_size and not queue.empty():
                batch.append(queue.get_nowait())
            items = [b[0] for b in batch]
            try:
                results = await loop.run_in_executor(None, self.fn, items)
                if len(results) != len(items):
                    raise RuntimeError(f"batch function returned {len(results)} results for {len(items)} items")
            except BaseException as e:  # noqa: BLE001 - handed to every waiting request
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            self.batches += 1
            self.items += len(items)
            for (_, fut), r in zip(batch, results):
                if not fut.done():
                    fut.set_result(r)
            if self.on_batch is not None:
                try:
                    self.on_batch(len(items))
                except Exception:  # noqa: BLE001 - a metrics failure must not stop the batcher
                    log.exception("batch-size hook failed")
