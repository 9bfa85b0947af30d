"""Large homogeneous pool: closed forms against Basel IRB, numerical integration and scipy."""

import pytest
from scipy.integrate import quad
from scipy.stats import multivariate_normal

from models.portfolio.gaussian import bivariate_normal_cdf
from models.portfolio.lhp import VasicekLoss, basel_corporate_correlation, basel_irb_capital


@pytest.mark.parametrize("pd_", [0.0003, 0.01, 0.05, 0.2])
def test_quantile_equals_basel_irb_formula(pd_):
    rho = float(basel_corporate_correlation(pd_))
    v = VasicekLoss(pd_, 0.45, rho)
    assert v.quantile(0.999) - pd_ * 0.45 == pytest.approx(float(basel_irb_capital(pd_, 0.45, rho)), rel=1e-12)
    assert float(v.cdf(v.quantile(0.999))) == pytest.approx(0.999, abs=1e-9)


@pytest.mark.parametrize("h,k,r", [(0.3, -1.2, 0.4), (-2.0, -3.0, 0.9), (1.0, 2.0, 0.1), (-1.0, 1.0, 0.5), (0.0, 0.0, 0.3)])
def test_bivariate_normal_matches_scipy(h, k, r):
    ref = multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([h, k])
    assert float(bivariate_normal_cdf(h, k, r)) == pytest.approx(ref, abs=1e-7)


def test_call_density_and_mean_agree_with_integration():
    v = VasicekLoss(0.05, 0.6, 0.2)
    for x in (0.01, 0.05, 0.2):
        assert v.call_price(x) == pytest.approx(quad(lambda t: v.sf(t)[0], x, 0.6, limit=200)[0], rel=1e-6)
    assert quad(lambda t: float(v.density(t)), 0.02, 0.1, limit=200)[0] == pytest.approx(float(v.cdf(0.1) - v.cdf(0.02)), rel=1e-6)
    assert v.mean()[0] == pytest.approx(0.03)
    assert v.call_price(0.0) == pytest.approx(0.03)


def test_factor_shift_is_a_downturn():
    base, down = VasicekLoss(0.03, 0.5, 0.2), VasicekLoss(0.03, 0.5, 0.2, factor_shift=-1.0)
    assert down.mean()[0] > base.mean()[0]
    assert down.sf(0.1)[0] > base.sf(0.1)[0]


@pytest.mark.parametrize("pd_,rho,loss", [(0.0, 0.2, 0.0), (1.0, 0.2, 0.6), (0.05, 0.0, 0.03)])
def test_degenerate_pools_are_point_masses(pd_, rho, loss):
    v = VasicekLoss(pd_, 0.6, rho)
    assert v.mean()[0] == pytest.approx(loss)
    assert v.quantile(0.999) == pytest.approx(loss)
    assert v.call_price(loss / 2) == pytest.approx(loss / 2)
    assert v.sf(loss + 1e-9)[0] == 0.0
