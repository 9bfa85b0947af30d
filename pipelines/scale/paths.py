"""Monte Carlo path chunks on a Dask cluster: the plan (conditional-PD tables, one spawned seed
per chunk) is sent to the workers once, each task simulates one chunk, and the chunks come
back in any order into the same places — so a seed gives exactly the local engine's figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from data_contracts.errors import ClusterError
from models.portfolio.monte_carlo import ChunkResult, ChunkRunner, PathPlan, run_chunk


def _same(x: Any) -> Any:
    return x


def dask_runner(client: Any, in_flight: int = 64) -> ChunkRunner:
    """A `ChunkRunner` for `models.portfolio.simulate_losses` that runs the chunks on `client`'s
    workers, at most `in_flight` chunks submitted ahead (bounded memory on the scheduler)."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    def run(plan: PathPlan) -> Iterator[ChunkResult]:
        plan_f = client.submit(_same, plan, pure=False)  # held by the scheduler: recomputed if its worker dies
        todo = iter(range(plan.n_chunks))
        pending = as_completed()

        def submit_next() -> None:
            k = next(todo, None)
            if k is not None:
                pending.add(client.submit(run_chunk, plan_f, k, pure=False))

        for _ in range(in_flight):
            submit_next()
        try:
            for fut in pending:
                try:
                    res = fut.result()
                except KilledWorker as e:
                    raise ClusterError(f"monte carlo: a path chunk lost its worker too often ({e}); no result") from e
                fut.release()
                submit_next()
                yield res
        finally:
            for f in list(pending.futures):
                f.cancel()
            client.cancel([plan_f])

    return run
