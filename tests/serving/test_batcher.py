"""The adaptive batcher: concurrent submissions go together, results come back in order, and each
scored batch's size reaches the ``on_batch`` hook (the service's `iprisk_batch_size` histogram)."""

from __future__ import annotations

import asyncio
import time

import pytest

from serving.batcher import AdaptiveBatcher


def test_concurrent_items_are_batched_and_each_batch_size_is_reported():
    sizes: list[int] = []

    def slow_double(items):
        time.sleep(0.02)  # while one batch runs, the others queue up
        return [2 * x for x in items]

    batcher = AdaptiveBatcher(slow_double, max_size=4, on_batch=sizes.append)

    async def go():
        return await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    assert asyncio.run(go()) == [2 * i for i in range(10)]
    assert sum(sizes) == 10 and max(sizes) <= 4 and max(sizes) > 1
    assert (batcher.batches, batcher.items) == (len(sizes), 10)


def test_a_failing_batch_reaches_every_waiter_and_is_not_reported():
    sizes: list[int] = []

    def fail(items):
        raise ValueError("scoring failed")

    batcher = AdaptiveBatcher(fail, on_batch=sizes.append)

    async def go():
        return await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)

    out = asyncio.run(go())
    assert all(isinstance(e, ValueError) for e in out) and sizes == []
    with pytest.raises(ValueError, match="scoring failed"):
        asyncio.run(batcher.submit(1))


def test_a_failing_hook_does_not_stop_the_batcher(caplog):
    def hook(n):
        raise RuntimeError("metrics down")

    batcher = AdaptiveBatcher(lambda items: list(items), on_batch=hook)

    async def go():
        first = await batcher.submit(1)
        return first, await batcher.submit(2)

    assert asyncio.run(go()) == (1, 2)
    assert "batch-size hook failed" in caplog.text
