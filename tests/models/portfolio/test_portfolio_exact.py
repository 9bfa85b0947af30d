"""Exact finite pool: binomial at zero correlation, convergence to the large pool, edge cases."""

import numpy as np
import pytest
from scipy.stats import binom

from models.portfolio.finite_pool import exact_loss
from models.portfolio.lhp import VasicekLoss
from models.portfolio.tranches import expected_loss, probability_of_loss
from models.portfolio.waterfall import Enhancement


def test_correlation_zero_homogeneous_is_binomial():
    n, pd_, lgd = 50, 0.07, 0.5
    d = exact_loss(np.full(n, 1 / n), np.full(n, pd_), np.full(n, lgd), np.zeros(n))
    np.testing.assert_allclose(d.probs, binom.pmf(np.arange(n + 1), n, pd_), atol=1e-12)
    np.testing.assert_allclose(d.grid, np.arange(n + 1) * lgd / n)


def test_correlation_zero_heterogeneous_recursion_is_poisson_binomial():
    """The recursion path (distinct PDs, equal losses) against a direct convolution of Bernoullis."""
    n = 30
    pds = np.linspace(0.01, 0.3, n)
    d = exact_loss(np.full(n, 1 / n), pds, np.full(n, 0.6), np.zeros(n))
    pmf = np.array([1.0])
    for p in pds:
        pmf = np.convolve(pmf, [1 - p, p])
    atoms = np.array([d.probs[np.abs(d.grid - k * 0.6 / n) < 1e-12].sum() for k in range(n + 1)])
    np.testing.assert_allclose(atoms, pmf, atol=1e-12)
    assert atoms.sum() == pytest.approx(1.0, abs=1e-12)  # no mass off the atoms
    assert d.mean()[0] == pytest.approx(0.6 * pds.mean(), rel=1e-12)


def test_recursion_matches_binomial_shortcut_for_nearly_identical_loans():
    n = 40
    w = np.full(n, 1.0)
    w[0] *= 1 + 1e-12  # forces the recursion path
    rho = np.full(n, 0.25)
    rec = exact_loss(w / w.sum(), np.full(n, 0.05), np.full(n, 0.6), rho)
    fast = exact_loss(np.full(n, 1 / n), np.full(n, 0.05), np.full(n, 0.6), rho)
    for a in (0.0, 0.03, 0.1, 0.3):
        assert rec.sf(a - 1e-9)[0] == pytest.approx(fast.sf(a - 1e-9)[0], abs=1e-8)


def test_heterogeneous_mean_is_exact():
    rng = np.random.default_rng(3)
    n = 300
    w = rng.lognormal(0, 1, n)
    w /= w.sum()
    pds, lgds = rng.uniform(0.005, 0.1, n), rng.uniform(0.2, 0.9, n)
    d = exact_loss(w, pds, lgds, np.full(n, 0.2))
    assert d.mean()[0] == pytest.approx(float(np.sum(w * pds * lgds)), rel=1e-10)
    assert d.probs.sum() == pytest.approx(1.0)


def test_approaches_large_pool_as_loans_grow():
    pd_, lgd, rho = 0.04, 0.6, 0.2
    v = VasicekLoss(pd_, lgd, rho)
    enh = Enhancement()
    errors = []
    for n in (20, 200, 2000, 20000):
        d = exact_loss(np.full(n, 1 / n), np.full(n, pd_), np.full(n, lgd), np.full(n, rho))
        err = [abs(expected_loss(d, enh, a, b)[0] - expected_loss(v, enh, a, b)[0]) / expected_loss(v, enh, a, b)[0]
               for a, b in ((0.0, 0.03), (0.03, 0.07), (0.07, 0.15), (0.15, 1.0))]
        errors.append(max(err))
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.02, errors


def test_edge_cases_pd_zero_one_and_single_loan():
    d0 = exact_loss(np.array([0.5, 0.5]), np.zeros(2), np.array([0.5, 0.7]), np.full(2, 0.2))
    assert d0.mean()[0] == 0.0 and d0.sf(0.0)[0] == 0.0
    d1 = exact_loss(np.array([0.5, 0.5]), np.ones(2), np.array([0.5, 0.7]), np.full(2, 0.2))
    assert d1.mean()[0] == pytest.approx(0.6)
    assert d1.quantile(0.0001) == pytest.approx(0.6, abs=2 * 0.6 / 8191)  # within a grid unit or two
    one = exact_loss(np.array([1.0]), np.array([0.1]), np.array([0.4]), np.array([0.3]))
    assert one.sf(0.0)[0] == pytest.approx(0.1)
    assert one.sf(0.39)[0] == pytest.approx(0.1)
    assert one.sf(0.4)[0] == pytest.approx(0.0)


def test_zero_width_tranche_is_its_probability_of_loss():
    n = 100
    d = exact_loss(np.full(n, 1 / n), np.full(n, 0.05), np.full(n, 0.6), np.full(n, 0.2))
    enh = Enhancement()
    assert expected_loss(d, enh, 0.05, 0.05)[0] == pytest.approx(probability_of_loss(d, enh, 0.05)[0])
    thin = expected_loss(d, enh, 0.05 + 1e-4, 0.05 + 2e-4)[0]
    assert thin == pytest.approx(probability_of_loss(d, enh, 0.05)[0], rel=1e-6)
