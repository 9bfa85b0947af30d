"""Sizing round trips, enhancement waterfall, stress scenarios, the evaluate_pool entry point."""

import json

import numpy as np
import pytest

from data_contracts.errors import PortfolioError
from models.portfolio import (
    Enhancement,
    InvestorClass,
    StressScenario,
    TrancheRequest,
    evaluate_pool,
    loss_distribution,
    pool_from_arrays,
    size_tranches,
    tranches_from_points,
)
from models.portfolio.distribution import DiscreteLoss
from models.portfolio.lhp import VasicekLoss
from models.portfolio.sizing import measure
from models.portfolio.tranches import expected_loss

CLASSES = (InvestorClass("senior", "probability_of_loss", 0.002, 0.03),
           InvestorClass("mezzanine", "expected_loss", 0.01, 0.07),
           InvestorClass("first_loss", None, None, 0.18))


@pytest.mark.parametrize("method", ["lhp", "exact"])
@pytest.mark.parametrize("enh", [Enhancement(), Enhancement(0.4, 0.05, 0.01, 0.02)])
def test_sizing_round_trip(hetero_pool, method, enh):
    dist = loss_distribution(hetero_pool, TrancheRequest(method=method, tranches=()))
    specs = size_tranches(dist, enh, CLASSES)
    assert [s.name for s in specs] == ["senior", "mezzanine", "first_loss"]
    assert specs[0].detachment == 1.0 and specs[-1].attachment == 0.0
    for spec, cls in zip(specs[:-1], CLASSES[:-1]):
        assert measure(dist, enh, cls.basis, spec.attachment, spec.detachment) <= cls.target
        assert measure(dist, enh, cls.basis, spec.attachment - 1e-6, spec.detachment) > cls.target
        assert spec.attachment > 0


def test_sizing_round_trip_monte_carlo(hetero_pool):
    from models.portfolio import MonteCarloConfig
    dist = loss_distribution(hetero_pool, TrancheRequest(method="mc", tranches=(), monte_carlo=MonteCarloConfig(paths=20_000)))
    specs = size_tranches(dist, Enhancement(), CLASSES)
    for spec, cls in zip(specs[:-1], CLASSES[:-1]):
        assert measure(dist, Enhancement(), cls.basis, spec.attachment, spec.detachment) <= cls.target
        assert measure(dist, Enhancement(), cls.basis, spec.attachment - 1e-6, spec.detachment) > cls.target


def test_unmeetable_target_is_an_error():
    one = DiscreteLoss(np.array([0.0, 1.0]), np.array([0.5, 0.5]))  # half the time everything is lost
    with pytest.raises(PortfolioError, match="no tranche"):
        size_tranches(one, Enhancement(), (InvestorClass("senior", "probability_of_loss", 0.1), InvestorClass("equity")))


def test_enhancement_calls_match_direct_payoff():
    d = DiscreteLoss(np.linspace(0, 0.5, 501), np.random.default_rng(0).dirichlet(np.ones(501)))
    for enh in (Enhancement(0.4, 0.03, 0.01, 0.02), Enhancement(0.5), Enhancement(1.0, 0.05), Enhancement(reserve=0.02)):
        for a, b in ((0.0, 0.05), (0.05, 0.2), (0.2, 1.0)):
            g = enh.notes_loss(d.grid)
            direct = float(np.dot(np.clip(g - a, 0, b - a) / (b - a), d.probs))
            assert expected_loss(d, enh, a, b)[0] == pytest.approx(direct, abs=1e-12)


def test_enhancements_lower_tranche_losses():
    v = VasicekLoss(0.05, 0.6, 0.2)
    base = expected_loss(v, Enhancement(), 0.0, 0.05)[0]
    comp = expected_loss(v, Enhancement(0.4), 0.0, 0.05)[0]
    capped = expected_loss(v, Enhancement(0.4, 0.01), 0.0, 0.05)[0]
    assert comp < capped < base
    assert expected_loss(v, Enhancement(reserve=0.02), 0.0, 0.05)[0] < base


def test_stress_scenarios_raise_tranche_losses(hetero_pool):
    specs = tuple(tranches_from_points([0, 0.03, 0.08, 1]))
    scen = (StressScenario("down", factor_shift=-1.0), StressScenario("pd", pd_multiplier=2.0),
            StressScenario("lgd", lgd_add_on=0.1), StressScenario("sector", sector="biotech", sector_pd_multiplier=3.0))
    res = evaluate_pool(hetero_pool, TrancheRequest(method="exact", tranches=specs, stress=scen))
    for sc in res.scenarios:
        assert sc["expected_loss"] > res.expected_loss
        for base, st in zip(res.tranches, sc["tranches"]):
            assert st["expected_loss"] >= base["expected_loss"] - 1e-12
    shocked = StressScenario("s", sector="biotech", sector_pd_multiplier=3.0).apply(hetero_pool)
    other = hetero_pool.sector != "biotech"
    np.testing.assert_array_equal(shocked.probability_of_default[other], hetero_pool.probability_of_default[other])
    with pytest.raises(PortfolioError, match="no loans"):
        StressScenario("x", sector="mining").apply(hetero_pool)


def test_evaluate_pool_json_fields(hetero_pool):
    res = evaluate_pool(hetero_pool, TrancheRequest(method="lhp", classes=CLASSES))
    d = json.loads(json.dumps(res.as_dict()))
    assert d["method"] == "lhp" and d["expected_loss"] == pytest.approx(hetero_pool.expected_loss)
    for t in d["tranches"]:
        assert {"attachment", "detachment", "expected_loss", "probability_of_loss", "expected_loss_amount",
                "expected_return", "break_even_default_rate", "meets_target"} <= set(t)
    senior = d["tranches"][0]
    assert senior["expected_return"] == pytest.approx(1.03 * (1 - senior["expected_loss"]) - 1)


def test_bad_requests_are_errors(hetero_pool):
    for pts in ([0, 0.05, 0.03, 1], [0, 0.5, 1.2], [-0.1, 1], [0.3]):
        with pytest.raises(PortfolioError):
            tranches_from_points(pts)
    with pytest.raises(PortfolioError, match="correlation"):
        from models.portfolio import CorrelationStructure
        CorrelationStructure(1.0)
    for bad in (dict(exposure_at_default=[-1.0]), dict(probability_of_default=[1.2]), dict(loss_given_default=[-0.1]),
                dict(exposure_at_default=[])):
        kw = {"exposure_at_default": [1.0], "probability_of_default": [0.1], "loss_given_default": [0.5], **bad}
        with pytest.raises(PortfolioError):
            pool_from_arrays(**kw)
