"""Monte Carlo path chunks on a Dask cluster: the plan (conditional-PD tables, one spawned seed
per chunk) is sent to the workers once, each task simulates a group of consecutive chunks, and the
chunks come back in any order into the same places — so a seed gives exactly the local engine's
figures, whatever the grouping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from data_contracts.errors import ClusterError
from models.portfolio.monte_carlo import ChunkResult, ChunkRunner, PathPlan, run_chunk
from pipelines.scale.cluster import worker_count

TASKS_PER_WORKER = 16
"""Tasks a plan is cut into per worker (at least): enough to balance load and to lose little work
with a dead worker, few enough that Dask's per-task cost (~ms) stays small against a task's work.
A chunk is sized for memory (often ~5,000 paths, ~30 ms), so one chunk per task spent more time on
scheduling than on simulating."""


def _same(x: Any) -> Any:
    return x


def run_chunks(plan: PathPlan, ks: range) -> list[ChunkResult]:
    """Chunks ``ks`` of ``plan``, one after the other (each with its own spawned seed)."""
    return [run_chunk(plan, k) for k in ks]


def chunk_groups(n_chunks: int, workers: int, per_worker: int = TASKS_PER_WORKER) -> list[range]:
    """Consecutive chunk index ranges covering ``range(n_chunks)`` once: about ``workers × per_worker``
    groups (fewer when there are fewer chunks)."""
    size = max(1, -(-n_chunks // max(1, workers * per_worker)))
    return [range(s, min(s + size, n_chunks)) for s in range(0, n_chunks, size)]


def dask_runner(client: Any, in_flight: int = 64, per_worker: int = TASKS_PER_WORKER) -> ChunkRunner:
    """A `ChunkRunner` for `models.portfolio.simulate_losses` that runs groups of chunks on `client`'s
    workers (`chunk_groups`), at most `in_flight` tasks submitted ahead (bounded memory)."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    def run(plan: PathPlan) -> Iterator[ChunkResult]:
        plan_f = client.submit(_same, plan, pure=False)  # held by the scheduler: recomputed if its worker dies
        workers = max(1, worker_count(client))
        todo = iter(chunk_groups(plan.n_chunks, workers, per_worker))
        pending = as_completed()

        def submit_next() -> None:
            ks = next(todo, None)
            if ks is not None:
                pending.add(client.submit(run_chunks, plan_f, ks, pure=False))

        for _ in range(in_flight):
            submit_next()
        try:
            for fut in pending:
                try:
                    results = fut.result()
                except KilledWorker as e:
                    raise ClusterError(f"monte carlo: a group of path chunks lost its worker too often ({e}); no result") from e
                fut.release()
                submit_next()
                yield from results
        finally:
            for f in list(pending.futures):
                f.cancel()
            client.cancel([plan_f])

    return run
