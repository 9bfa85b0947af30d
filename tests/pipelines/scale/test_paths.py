"""Monte Carlo path chunks on Dask workers give exactly the local engine's paths and tranche
figures for the same seed (every variance reduction, sector factors, stochastic LGD)."""

from __future__ import annotations

import numpy as np
import pytest

from models.portfolio import CorrelationStructure, MonteCarloConfig, TrancheRequest, evaluate_pool, pool_from_arrays
from models.portfolio.monte_carlo import plan_paths, run_chunk
from models.portfolio.tranches import TrancheSpec
from pipelines.scale.paths import TASKS_PER_WORKER, chunk_groups, dask_runner

TRANCHES = (TrancheSpec(0, 0.03, "first-loss"), TrancheSpec(0.03, 0.1, "mezzanine"), TrancheSpec(0.1, 1, "senior"))


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(5)
    n = 150
    return pool_from_arrays(rng.lognormal(14, 0.7, n), rng.uniform(0.005, 0.1, n), rng.uniform(0.3, 0.8, n),
                            rng.uniform(0.05, 0.2, n), rng.choice(["software", "biotech", "hardware"], n))


def _request(vr: str) -> TrancheRequest:
    return TrancheRequest(method="mc", correlation=CorrelationStructure(0.2, 0.6), tranches=TRANCHES,
                          monte_carlo=MonteCarloConfig(paths=20_001, seed=9, variance_reduction=vr, chunk_memory_mb=1))


def test_chunks_in_any_order_give_the_same_paths(pool):
    req = _request("none")
    local = evaluate_pool(pool, req)
    names, codes = pool.sectors()
    corr = req.correlation
    plan = plan_paths(pool.weights, pool.probability_of_default, pool.loss_given_default, pool.lgd_volatility, codes,
                      np.array([corr.rho(s) for s in names]), corr.sector_taus(names), 0.0, req.monte_carlo)
    assert plan.n_chunks > 3
    backwards = evaluate_pool(pool, req, runner=lambda p: (run_chunk(p, k) for k in reversed(range(p.n_chunks))))
    assert np.array_equal(local.distribution.losses, backwards.distribution.losses)
    assert local.as_dict() == backwards.as_dict()


@pytest.mark.slow
@pytest.mark.parametrize("vr", ["none", "antithetic", "importance"])
def test_dask_workers_give_the_local_engines_figures(cluster, pool, vr):
    req = _request(vr)
    local = evaluate_pool(pool, req)
    remote = evaluate_pool(pool, req, runner=dask_runner(cluster, in_flight=4))
    assert np.array_equal(local.distribution.losses, remote.distribution.losses)
    if vr == "importance":
        assert np.array_equal(local.distribution.weights, remote.distribution.weights)
    assert local.as_dict() == remote.as_dict()


@pytest.mark.parametrize("n, workers", [(1, 1), (7, 2), (2087, 2), (100, 64)])
def test_chunk_groups_cover_every_chunk_once_in_order(n, workers):
    groups = chunk_groups(n, workers)
    assert [k for g in groups for k in g] == list(range(n))
    assert len(groups) <= max(1, workers * TASKS_PER_WORKER)
    assert all(len(g) >= 1 for g in groups)
