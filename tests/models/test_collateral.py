"""Patent value score and LTV caps: ranges, directions, the validity gate, weighting of pledges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from data_contracts.errors import ContractError, ModelError
from models.collateral import (
    INDICATOR_COLUMNS,
    CollateralScoreConfig,
    ltv_cap,
    ltv_caps_by_loan,
    ltv_caps_of_loans,
    patent_ltv_caps,
    patent_value_scores,
)

# indicator → +1 if more of it must never lower the score of its first-level indicator, −1 if never raise
DIRECTIONS = {
    "legal_score": {
        "remaining_life_years": 1, "claims_count": 1, "independent_claims": 1, "jurisdictions": 1,
        "co_owners": -1, "transfers_count": -1, "litigation_count": -1, "invalidation_requests": -1,
        "maintenance_fees_late": -1, "is_valid": 1,
    },
    "technical_score": {
        "forward_citations_norm": 1, "family_size": 1, "scope": 1, "backward_citations": 1, "npl_citations": 1,
        "self_citation_share": -1, "age_years": -1, "grant_lag_years": -1,
    },
    "economic_score": {"appraised_value": 1, "licences_count": 1, "exclusive_licence": -1},
}


def indicators(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    method = rng.integers(0, 3, n)
    value = rng.lognormal(14.5, 1.0, n)
    life = rng.uniform(0, 18, n)
    df = pd.DataFrame({
        "is_valid": (rng.uniform(size=n) < 0.9).astype(float),
        "is_invention": (kind == 0).astype(float), "is_utility_model": (kind == 1).astype(float), "is_design": (kind == 2).astype(float),
        "remaining_life_years": life, "remaining_life_share": life / 20.0,
        "co_owners": rng.poisson(0.3, n).astype(float), "transfers_count": rng.poisson(0.5, n).astype(float),
        "litigation_count": rng.poisson(0.2, n).astype(float), "invalidation_requests": rng.poisson(0.1, n).astype(float),
        "maintenance_fees_late": rng.poisson(0.3, n).astype(float),
        "claims_count": rng.integers(1, 40, n).astype(float), "independent_claims": rng.integers(1, 5, n).astype(float),
        "family_size": rng.integers(1, 10, n).astype(float), "jurisdictions": rng.integers(1, 6, n).astype(float),
        "forward_citations_norm": rng.exponential(1.0, n), "backward_citations": rng.poisson(8, n).astype(float),
        "npl_citations": rng.poisson(2, n).astype(float), "scope": rng.integers(1, 6, n).astype(float),
        "self_citation_share": rng.uniform(0, 1, n), "age_years": rng.uniform(0, 15, n),
        "grant_lag_years": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.uniform(0.5, 5, n)),
        "licences_count": rng.poisson(0.5, n).astype(float), "exclusive_licence": (rng.uniform(size=n) < 0.1).astype(float),
        "appraised_value": value, "log_appraised_value": np.log(value),
        "appraisal_income": (method == 0).astype(float), "appraisal_market": (method == 1).astype(float), "appraisal_cost": (method == 2).astype(float),
    })
    assert tuple(sorted(df.columns)) == tuple(sorted(INDICATOR_COLUMNS))
    return df


def test_scores_in_range_and_keep_index():
    ind = indicators()
    ind.index = [f"CN{i:010d}" for i in range(len(ind))]
    s = patent_value_scores(ind)
    assert list(s.columns) == ["legal_score", "technical_score", "economic_score", "value_score"]
    assert (s.index == ind.index).all()
    assert ((s >= 0) & (s <= 100)).all().all()
    assert s["value_score"].std() > 1.0  # the score discriminates


@pytest.mark.parametrize("score,column,sign", [(sc, col, sg) for sc, d in DIRECTIONS.items() for col, sg in d.items()])
def test_directions(score, column, sign):
    base = indicators(120, seed=1)
    base["grant_lag_years"] = base["grant_lag_years"].fillna(2.0)
    step = 1.0 if column in ("is_valid", "exclusive_licence") else (0.2 if column == "self_citation_share" else max(base[column].std(), 1.0))
    for frac in (0.5, 1.0, 3.0):
        bumped = base.copy()
        bumped[column] = base[column] + frac * step
        if column in ("is_valid", "exclusive_licence", "self_citation_share"):
            bumped[column] = bumped[column].clip(upper=1.0)
        before, after = patent_value_scores(base), patent_value_scores(bumped)
        for col in (score, "value_score"):
            diff = (after[col] - before[col]).to_numpy()
            assert (sign * diff >= -1e-9).all(), f"{column} moved {col} the wrong way"
        assert (sign * (after[score] - before[score]) > 0).any(), f"{column} has no effect on {score}"


def test_right_type_ordering():
    ind = indicators(3, seed=2)
    row = ind.iloc[[0, 0, 0]].reset_index(drop=True)
    row[["is_invention", "is_utility_model", "is_design"]] = np.eye(3)
    legal = patent_value_scores(row)["legal_score"].to_numpy()
    assert legal[0] > legal[1] > legal[2]


def test_invalid_patent_caps_value_score():
    cfg = CollateralScoreConfig()
    ind = indicators(100, seed=3)
    ind["is_valid"] = 1.0
    best = ind.copy()
    for col in ("forward_citations_norm", "licences_count", "appraised_value", "claims_count", "family_size"):
        best[col] = best[col] * 100
    best["is_valid"] = 0.0
    s = patent_value_scores(best, cfg)
    assert (s["legal_score"] == 0).all()
    assert (s["value_score"] <= cfg.invalid_value_cap + 1e-9).all()
    assert (patent_value_scores(ind, cfg)["value_score"] > cfg.invalid_value_cap).mean() > 0.9


def test_missing_grant_lag_earns_no_more_than_any_known_lag():
    ind = indicators(50, seed=4)
    ind["grant_lag_years"] = 10.0
    pending = ind.assign(grant_lag_years=np.nan)
    assert (patent_value_scores(pending)["technical_score"] <= patent_value_scores(ind)["technical_score"] + 1e-9).all()


def test_currency_scale_of_half_point_is_consistent():
    ind = indicators(50, seed=5)
    cfg = CollateralScoreConfig()
    scaled_cfg = dataclasses.replace(cfg, half_appraised_value_cny=cfg.half_appraised_value_cny / 1000)
    scaled = ind.assign(appraised_value=ind["appraised_value"] / 1000)  # thousands of CNY
    pd.testing.assert_frame_equal(patent_value_scores(ind, cfg), patent_value_scores(scaled, scaled_cfg))


def test_missing_column_raises():
    with pytest.raises(ModelError, match="litigation_count"):
        patent_value_scores(indicators(5).drop(columns="litigation_count"))


def test_bad_config_raises():
    with pytest.raises(ContractError, match="half_age_years"):
        CollateralScoreConfig(half_age_years=0.0)
    with pytest.raises(ContractError, match="ltv_invention"):
        CollateralScoreConfig(ltv_invention=1.5)


def test_ltv_caps_by_type_and_score():
    cfg = CollateralScoreConfig()
    types = ["invention", "utility_model", "design", "trademark", "copyright", "something"]
    top = patent_ltv_caps(types, [100] * 6, cfg)
    np.testing.assert_allclose(top, [cfg.ltv_invention, cfg.ltv_utility_model, cfg.ltv_design, min(cfg.ltv_trademark, cfg.ltv_ceiling),
                                     cfg.ltv_copyright, cfg.ltv_other])
    assert (top <= cfg.ltv_ceiling).all()
    scores = np.linspace(0, 100, 11)
    caps = patent_ltv_caps(["invention"] * 11, scores, cfg)
    assert (np.diff(caps) >= 0).all() and caps[0] == pytest.approx(cfg.ltv_invention * cfg.ltv_min_multiplier)
    unscaled = dataclasses.replace(cfg, ltv_scale_by_score=False)
    np.testing.assert_allclose(patent_ltv_caps(["invention"] * 11, scores, unscaled), cfg.ltv_invention)


def test_ltv_cap_is_value_weighted():
    cfg = dataclasses.replace(CollateralScoreConfig(), ltv_scale_by_score=False)
    cap = ltv_cap(["invention", "utility_model"], None, cfg, appraised_values=[3e6, 1e6])
    assert cap == pytest.approx((0.25 * 3 + 0.15 * 1) / 4)
    assert cap * 4e6 == pytest.approx(0.25 * 3e6 + 0.15 * 1e6)  # each right lends its own share
    assert ltv_cap(["invention", "utility_model"], None, cfg) == pytest.approx(0.20)
    assert ltv_cap(["invention"], None, cfg, appraised_values=[0.0]) == pytest.approx(0.25)
    assert ltv_cap([], None, cfg) == 0.0


def test_ltv_caps_by_loan_matches_single():
    cfg = CollateralScoreConfig()
    rng = np.random.default_rng(6)
    n = 40
    loans = rng.integers(0, 10, n).astype(str)
    types = rng.choice(["invention", "utility_model", "design"], n)
    scores = rng.uniform(0, 100, n)
    values = rng.lognormal(14, 1, n)
    by_loan = ltv_caps_by_loan(loans, types, scores, values, cfg)
    for loan in np.unique(loans):
        m = loans == loan
        assert by_loan[loan] == pytest.approx(ltv_cap(types[m], scores[m], cfg, values[m]))


def test_ltv_caps_of_loans_by_position_agree_with_a_grouped_sum_and_give_unpledged_loans_zero():
    cfg = CollateralScoreConfig()
    rng = np.random.default_rng(7)
    m, n = 400, 60
    pos = rng.integers(0, n - 5, m)  # loans n-5..n-1 have no rights
    types = rng.choice(["invention", "utility_model", "design"], m)
    scores = rng.uniform(0, 100, m)
    values = rng.lognormal(14, 2, m)
    values[rng.random(m) < 0.1] = 0.0
    values[pos == 3] = 0.0  # all weights zero: the plain mean of the rights' caps
    caps = ltv_caps_of_loans(pos, n, types, scores, values, cfg)
    c = patent_ltv_caps(types, scores, cfg)
    g = pd.DataFrame({"pos": pos, "cw": c * values, "w": values, "c": c, "one": 1.0}).groupby("pos")[["cw", "w", "c", "one"]].sum()
    ref = np.where(g["w"] > 0, g["cw"] / g["w"].where(g["w"] > 0, 1.0), g["c"] / g["one"])
    # the same means; the sums' order of rounding differs (bincount in row order, pandas compensated)
    np.testing.assert_allclose(caps[g.index.to_numpy()], ref, rtol=1e-14, atol=0)
    assert caps[3] == pytest.approx(c[pos == 3].mean())
    assert (caps[n - 5:] == 0.0).all()
    with pytest.raises(ModelError, match="lengths differ"):
        ltv_caps_of_loans(pos[:-1], n, types, scores, values, cfg)
    with pytest.raises(ModelError, match="positions"):
        ltv_caps_of_loans(pos, 10, types, scores, values, cfg)
