"""Monte Carlo copula: agreement with the exact engine within 3 standard errors, variance
reduction, reproducibility, downturn LGD and sector factors. Small pools and path counts."""

import numpy as np
import pytest

from data_contracts.errors import PortfolioError
from models.portfolio import CorrelationStructure, MonteCarloConfig, TrancheRequest, loss_distribution
from models.portfolio.monte_carlo import probit_lgd_params, simulate_losses
from models.portfolio.tranches import expected_loss, probability_of_loss
from models.portfolio.waterfall import Enhancement

TRANCHES = ((0.0, 0.03), (0.03, 0.07), (0.07, 0.15), (0.15, 1.0))
DETERMINISTIC = dict(stochastic_lgd=False, paths=50_000)


def _mc(pool, **kw):
    cfg = MonteCarloConfig(**{**DETERMINISTIC, **kw})
    return loss_distribution(pool, TrancheRequest(method="mc", tranches=(), monte_carlo=cfg))


def _exact(pool):
    return loss_distribution(pool, TrancheRequest(method="exact", tranches=()))


def _assert_within_3se(mc, ex, enh=Enhancement()):
    m, se = mc.mean()
    assert abs(m - ex.mean()[0]) <= 3 * se
    for a, d in TRANCHES:
        el, el_se = expected_loss(mc, enh, a, d)
        assert abs(el - expected_loss(ex, enh, a, d)[0]) <= 3 * el_se + 1e-12, (a, d)
        pol, pol_se = probability_of_loss(mc, enh, a)
        assert abs(pol - probability_of_loss(ex, enh, a)[0]) <= 3 * pol_se + 1e-12, (a, d)


@pytest.fixture(scope="module")
def mc_homo(homo_pool):
    return _mc(homo_pool)


def test_homogeneous_pool_mc_within_3se_of_exact(homo_pool, mc_homo):
    _assert_within_3se(mc_homo, _exact(homo_pool))


def test_heterogeneous_pool_mc_within_3se_of_exact(hetero_pool):
    _assert_within_3se(_mc(hetero_pool, seed=3), _exact(hetero_pool))


@pytest.mark.parametrize("vr", ["antithetic", "importance"])
def test_variance_reduction_agrees_with_exact(homo_pool, vr):
    _assert_within_3se(_mc(homo_pool, variance_reduction=vr, seed=5), _exact(homo_pool))


def test_importance_sampling_shrinks_senior_tail_error(homo_pool, mc_homo):
    mc_is = _mc(homo_pool, variance_reduction="importance", importance_shift=-2.5, seed=5)
    enh = Enhancement()
    assert probability_of_loss(mc_is, enh, 0.15)[1] < 0.5 * probability_of_loss(mc_homo, enh, 0.15)[1]


def test_same_seed_same_paths_whatever_the_threads(homo_pool):
    a = _mc(homo_pool, paths=4000, workers=1, chunk_memory_mb=0.5)
    b = _mc(homo_pool, paths=4000, workers=2, chunk_memory_mb=0.5)
    c = _mc(homo_pool, paths=4000, workers=2, chunk_memory_mb=0.5, seed=8)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses, c.losses)


def test_probit_lgd_keeps_mean_and_volatility():
    mean, vol = np.array([0.3, 0.6, 0.9, 0.5]), np.array([0.1, 0.2, 0.05, 0.0])
    mu, s = probit_lgd_params(mean, vol)
    g = np.random.default_rng(0).standard_normal(400_000)
    from scipy.special import ndtr
    draws = ndtr(mu[:, None] + s[:, None] * g[None, :])
    np.testing.assert_allclose(draws.mean(1), mean, atol=2e-3)
    np.testing.assert_allclose(draws.std(1), vol, atol=2e-3)


def test_downturn_lgd_raises_loss_and_independent_lgd_keeps_it():
    n = 100
    w, pd_, lgd = np.full(n, 1 / n), np.full(n, 0.05), np.full(n, 0.5)
    args = (w, pd_, lgd, np.full(n, 0.2), np.zeros(n, np.int64), np.array([0.2]), np.array([1.0]))
    indep = simulate_losses(*args, config=MonteCarloConfig(paths=40_000, lgd_factor_loading=0.0))
    down = simulate_losses(*args, config=MonteCarloConfig(paths=40_000, lgd_factor_loading=0.8))
    m, se = indep.mean()
    assert abs(m - 0.025) <= 3 * se
    assert down.mean()[0] > m + 3 * se
    assert down.quantile(0.999) > indep.quantile(0.999)


def test_sector_factors_diversify_the_senior_tail(hetero_pool):
    one = loss_distribution(hetero_pool, TrancheRequest(method="mc", tranches=(), monte_carlo=MonteCarloConfig(**DETERMINISTIC)))
    sec = loss_distribution(hetero_pool, TrancheRequest(method="mc", tranches=(), correlation=CorrelationStructure(0.2, 0.3),
                                                        monte_carlo=MonteCarloConfig(**DETERMINISTIC)))
    assert abs(sec.mean()[0] - one.mean()[0]) <= 3 * np.hypot(sec.mean()[1], one.mean()[1])
    assert sec.quantile(0.999) < one.quantile(0.999)
    with pytest.raises(PortfolioError, match="need --method mc"):
        loss_distribution(hetero_pool, TrancheRequest(method="exact", tranches=(), correlation=CorrelationStructure(0.2, 0.3)))


def test_too_many_paths_is_a_clear_error():
    with pytest.raises(PortfolioError, match="memory limit"):
        MonteCarloConfig(paths=10**9)
