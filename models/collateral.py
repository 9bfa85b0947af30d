"""Patent value score for pledge lending, and the loan-to-value cap it earns.

The score follows the CNIPA / China Technology Exchange patent value degree,
``value = α·legal + β·technical + γ·economic``, with GB/T 42748-2023's three first-level
indicators weighted for the *finance* (pledge) scenario. Each first-level score (0–100) is a
weighted mean of sub-scores in [0, 1]; every sub-score is a saturating curve of one indicator
from ``features.patent_indicators.patent_indicators`` (one row per patent), increasing where more
of the indicator means more collateral value and decreasing where it means less. A patent that is
not in force (``is_valid`` = 0) gets legal score 0 and a value score capped at
``invalid_value_cap``. See docs/collateral.md for the weights and why.

Curves: ``rise(x, h) = x / (x + h)`` (0 at 0, ½ at ``h``, → 1) and ``fall(x, h) = h / (x + h)``
(1 at 0, ½ at ``h``, → 0); ``h`` is the *half-point* in the indicator's unit. Negative inputs are
clipped at 0; a missing value (NaN) earns ``missing_subscore``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from data_contracts.errors import ContractError, ModelError
from features.collateral_pool import loan_codes, value_weighted_by_loan

LEGAL_COLUMNS = (
    "is_valid", "is_invention", "is_utility_model", "is_design", "remaining_life_years",
    "remaining_life_share", "co_owners", "transfers_count", "litigation_count", "invalidation_requests",
    "maintenance_fees_late", "claims_count", "independent_claims", "family_size", "jurisdictions",
)
TECHNICAL_COLUMNS = (
    "forward_citations_norm", "backward_citations", "npl_citations", "scope", "self_citation_share",
    "age_years", "grant_lag_years",
)
ECONOMIC_COLUMNS = (
    "licences_count", "exclusive_licence", "appraised_value", "log_appraised_value", "appraisal_income",
    "appraisal_market", "appraisal_cost",
)
INDICATOR_COLUMNS = LEGAL_COLUMNS + TECHNICAL_COLUMNS + ECONOMIC_COLUMNS
# remaining_life_share and log_appraised_value restate remaining_life_years and appraised_value.
SCORED_COLUMNS = tuple(n for n in INDICATOR_COLUMNS if n not in ("remaining_life_share", "log_appraised_value"))
SCORE_COLUMNS = ("legal_score", "technical_score", "economic_score", "value_score")


@dataclass(frozen=True)
class CollateralScoreConfig:
    """Weights, curve half-points and LTV caps for the patent value score (finance scenario).

    First-level weights (renormalised to sum 1):
      legal_weight=0.45 — in a pledge the lender's first question is whether the right is valid,
        stable and enforceable at disposal (the practitioners' poll in DOMAIN.md: ownership,
        stability, validity); a right that falls away leaves nothing to sell.
      technical_weight=0.20 — technical quality matters for a buyer but explains little of auction
        prices (Fischer & Leidinger 2014), so it weighs least.
      economic_weight=0.35 — what the right would fetch: appraisal size and method, licences.

    Legal sub-weights (renormalised): remaining life 0.25 (the right must outlive loan term plus
    workout; half-point 5 years); right type 0.15 (inventions are substantively examined, utility
    models and designs are not — the same ordering as the banks' 25%/15% LTV caps); invalidation
    requests 0.15 (stability; half-point 0.5 requests: one pending request costs two thirds);
    litigation 0.10 (half-point 1 case); co-owners 0.10 (co-owned rights need every owner to agree
    to pledge or sale; half-point 1); transfers 0.05 (ownership stability; half-point 2);
    late maintenance fees 0.05 (renewal is revealed private value, Pakes & Schankerman; half-point 1);
    claims 0.05 (half-point 10); independent claims 0.05 (non-circumventability; half-point 2);
    extra jurisdictions 0.05 (multi-country filing; ``jurisdictions − 1``, half-point 2).

    Technical sub-weights: forward citations normalised to the cohort 0.30 (the OECD's main quality
    signal; half-point 1 = cohort mean); family size 0.15 (``family_size − 1``, half-point 3);
    self-citation share 0.15 (``1 − share``: firm-specific technology is hard to redeploy,
    Hochberg, Serrano & Ziedonis 2018); scope 0.10 (IPC subclasses, half-point 2); age 0.10
    (obsolescence, falling, half-point 10 years); grant lag 0.10 (falling, half-point 3 years;
    valuable inventions are pushed through faster; NaN while pending); backward citations 0.05
    (half-point 10) and non-patent-literature citations 0.05 (closeness to science, half-point 3).

    Economic sub-weights: appraised value 0.40 (half-point ¥5m; 72.5% of deals are under ¥10m);
    licences 0.25 (a licence proves a market; half-point 1); appraisal method 0.25 (market 1.0,
    income 0.7, cost 0.4: observed comparables beat forecasts, and cost is not value); exclusive
    licence 0.10 (``1 − exclusive``: an exclusive licensee encumbers the right a buyer gets).

    ``invalid_value_cap`` = 10: the value score of a patent not in force is at most 10 (interpolated
    linearly in ``is_valid`` when it is a fraction). ``missing_subscore`` = 0: an unknown indicator
    earns no credit (conservative for collateral).

    LTV caps (fraction of appraised value, DOMAIN.md): invention 0.25 and utility model 0.15 (one
    large bank), design 0.10 (the bottom of the 10–60% practice range: unexamined, narrow),
    trademark 0.50, copyright 0.30 (between patents and trademarks), other 0.10; ``ltv_ceiling``
    0.50 (city guidelines). With ``ltv_scale_by_score`` the cap of a patent is multiplied by
    ``ltv_min_multiplier + (1 − ltv_min_multiplier)·score/100`` (0.5 at score 0, 1 at 100), so the
    bank's cap is reached only by a top-scoring right.
    """

    legal_weight: float = 0.45
    technical_weight: float = 0.20
    economic_weight: float = 0.35
    # legal sub-weights and half-points
    w_remaining_life: float = 0.25
    half_remaining_life_years: float = 5.0
    w_right_type: float = 0.15
    type_score_invention: float = 1.0
    type_score_utility_model: float = 0.5
    type_score_design: float = 0.3
    w_invalidation: float = 0.15
    half_invalidation_requests: float = 0.5
    w_litigation: float = 0.10
    half_litigation_count: float = 1.0
    w_co_owners: float = 0.10
    half_co_owners: float = 1.0
    w_transfers: float = 0.05
    half_transfers_count: float = 2.0
    w_maintenance: float = 0.05
    half_maintenance_fees_late: float = 1.0
    w_claims: float = 0.05
    half_claims_count: float = 10.0
    w_independent_claims: float = 0.05
    half_independent_claims: float = 2.0
    w_jurisdictions: float = 0.05
    half_extra_jurisdictions: float = 2.0
    # technical
    w_forward_citations: float = 0.30
    half_forward_citations_norm: float = 1.0
    w_family_size: float = 0.15
    half_extra_family_members: float = 3.0
    w_self_citation: float = 0.15
    w_scope: float = 0.10
    half_scope: float = 2.0
    w_age: float = 0.10
    half_age_years: float = 10.0
    w_grant_lag: float = 0.10
    half_grant_lag_years: float = 3.0
    w_backward_citations: float = 0.05
    half_backward_citations: float = 10.0
    w_npl_citations: float = 0.05
    half_npl_citations: float = 3.0
    # economic
    w_appraised_value: float = 0.40
    half_appraised_value_cny: float = 5_000_000.0
    w_licences: float = 0.25
    half_licences_count: float = 1.0
    w_appraisal_method: float = 0.25
    method_score_market: float = 1.0
    method_score_income: float = 0.7
    method_score_cost: float = 0.4
    w_exclusive_licence: float = 0.10
    # gates
    invalid_value_cap: float = 10.0
    missing_subscore: float = 0.0
    # LTV caps
    ltv_invention: float = 0.25
    ltv_utility_model: float = 0.15
    ltv_design: float = 0.10
    ltv_trademark: float = 0.50
    ltv_copyright: float = 0.30
    ltv_other: float = 0.10
    ltv_ceiling: float = 0.50
    ltv_scale_by_score: bool = True
    ltv_min_multiplier: float = 0.5
    # lapse (models/pledge_survival.py): the LGD values the pledge at its expected in-force share at
    # term + workout; the LTV and limit may do the same
    lapse_in_lgd: bool = True
    ltv_on_surviving_value: bool = False

    def __post_init__(self) -> None:
        bad = []
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool):
                continue
            if not isinstance(v, (int, float)) or not np.isfinite(v):
                bad.append(f"{f.name}={v!r} (must be a finite number)")
            elif f.name.startswith("half_") and v <= 0:
                bad.append(f"{f.name}={v!r} (half-points must be > 0)")
            elif v < 0:
                bad.append(f"{f.name}={v!r} (must be >= 0)")
            elif (f.name.startswith(("ltv_", "type_score_", "method_score_")) or f.name == "missing_subscore") and v > 1:
                bad.append(f"{f.name}={v!r} (a fraction, must be <= 1)")
        if self.invalid_value_cap > 100:
            bad.append(f"invalid_value_cap={self.invalid_value_cap!r} (a score, must be <= 100)")
        if self.legal_weight + self.technical_weight + self.economic_weight <= 0:
            bad.append("legal_weight + technical_weight + economic_weight must be > 0")
        if bad:
            raise ContractError("settings section 'collateral': " + "; ".join(bad))


def _rise(x: NDArray[np.float64], half: float) -> NDArray[np.float64]:
    x = np.maximum(x, 0.0)
    return x / (x + half)


def _fall(x: NDArray[np.float64], half: float) -> NDArray[np.float64]:
    return half / (np.maximum(x, 0.0) + half)


def _weighted(parts: list[tuple[float, NDArray[np.float64]]], missing: float) -> NDArray[np.float64]:
    total_w = sum(w for w, _ in parts)
    if total_w <= 0:
        raise ContractError("settings section 'collateral': the sub-weights of a first-level indicator sum to 0")
    acc = sum(w * np.where(np.isnan(s), missing, np.clip(s, 0.0, 1.0)) for w, s in parts)
    return np.asarray(acc, float) / total_w


Columns = Mapping[str, NDArray[np.float64]]
"""The ``SCORED_COLUMNS`` of n patents as float64 arrays (n,), NaN where missing (``scored_arrays``)."""


def scored_arrays(indicators: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
    """The indicator frame's ``SCORED_COLUMNS`` as float64 arrays, read in one pass (extra columns
    ignored); ModelError naming the missing columns."""
    missing = [n for n in SCORED_COLUMNS if n not in indicators.columns]
    if missing:
        raise ModelError(f"patent indicators: missing column(s) {missing}; the collateral score needs {list(SCORED_COLUMNS)}")
    values = np.ascontiguousarray(indicators[list(SCORED_COLUMNS)].to_numpy(dtype=float, na_value=np.nan).T)
    return {n: values[j] for j, n in enumerate(SCORED_COLUMNS)}  # contiguous rows: the columns


def legal_subscores(ind: Columns, c: CollateralScoreConfig) -> list[tuple[float, NDArray[np.float64]]]:
    """(weight, sub-score in [0, 1]) pairs of the legal indicator, before the validity gate."""
    g = ind.__getitem__
    type_score = (
        c.type_score_invention * np.nan_to_num(g("is_invention"))
        + c.type_score_utility_model * np.nan_to_num(g("is_utility_model"))
        + c.type_score_design * np.nan_to_num(g("is_design"))
    )
    known_type = (np.nan_to_num(g("is_invention")) + np.nan_to_num(g("is_utility_model")) + np.nan_to_num(g("is_design"))) > 0
    type_score = np.where(known_type, type_score, np.nan)
    return [
        (c.w_remaining_life, _rise(g("remaining_life_years"), c.half_remaining_life_years)),
        (c.w_right_type, type_score),
        (c.w_invalidation, _fall(g("invalidation_requests"), c.half_invalidation_requests)),
        (c.w_litigation, _fall(g("litigation_count"), c.half_litigation_count)),
        (c.w_co_owners, _fall(g("co_owners"), c.half_co_owners)),
        (c.w_transfers, _fall(g("transfers_count"), c.half_transfers_count)),
        (c.w_maintenance, _fall(g("maintenance_fees_late"), c.half_maintenance_fees_late)),
        (c.w_claims, _rise(g("claims_count"), c.half_claims_count)),
        (c.w_independent_claims, _rise(g("independent_claims"), c.half_independent_claims)),
        (c.w_jurisdictions, _rise(g("jurisdictions") - 1.0, c.half_extra_jurisdictions)),
    ]


def technical_subscores(ind: Columns, c: CollateralScoreConfig) -> list[tuple[float, NDArray[np.float64]]]:
    """(weight, sub-score in [0, 1]) pairs of the technical indicator."""
    g = ind.__getitem__
    return [
        (c.w_forward_citations, _rise(g("forward_citations_norm"), c.half_forward_citations_norm)),
        (c.w_family_size, _rise(g("family_size") - 1.0, c.half_extra_family_members)),
        (c.w_self_citation, 1.0 - np.clip(g("self_citation_share"), 0.0, 1.0)),
        (c.w_scope, _rise(g("scope"), c.half_scope)),
        (c.w_age, _fall(g("age_years"), c.half_age_years)),
        (c.w_grant_lag, _fall(g("grant_lag_years"), c.half_grant_lag_years)),
        (c.w_backward_citations, _rise(g("backward_citations"), c.half_backward_citations)),
        (c.w_npl_citations, _rise(g("npl_citations"), c.half_npl_citations)),
    ]


def economic_subscores(ind: Columns, c: CollateralScoreConfig) -> list[tuple[float, NDArray[np.float64]]]:
    """(weight, sub-score in [0, 1]) pairs of the economic indicator."""
    g = ind.__getitem__
    mk, inc, cost = (np.nan_to_num(g(n)) for n in ("appraisal_market", "appraisal_income", "appraisal_cost"))
    method = c.method_score_market * mk + c.method_score_income * inc + c.method_score_cost * cost
    method = np.where(mk + inc + cost > 0, np.clip(method, 0.0, 1.0), np.nan)
    return [
        (c.w_appraised_value, _rise(g("appraised_value"), c.half_appraised_value_cny)),
        (c.w_licences, _rise(g("licences_count"), c.half_licences_count)),
        (c.w_appraisal_method, method),
        (c.w_exclusive_licence, 1.0 - np.clip(g("exclusive_licence"), 0.0, 1.0)),
    ]


LEGAL_SUBSCORES = ("remaining_life", "right_type", "invalidation", "litigation", "co_owners", "transfers",
                   "maintenance", "claims", "independent_claims", "jurisdictions")
TECHNICAL_SUBSCORES = ("forward_citations", "family_size", "self_citation", "scope", "age", "grant_lag",
                       "backward_citations", "npl_citations")
ECONOMIC_SUBSCORES = ("appraised_value", "licences", "appraisal_method", "exclusive_licence")
"""Names of the sub-scores, in the order ``legal_subscores`` / ``technical_subscores`` /
``economic_subscores`` return them; a sub-score is named ``<level>.<name>``, e.g. ``legal.claims``."""

_LEVELS = (("legal", LEGAL_SUBSCORES, legal_subscores), ("technical", TECHNICAL_SUBSCORES, technical_subscores),
           ("economic", ECONOMIC_SUBSCORES, economic_subscores))


def subscore_frame(indicators: pd.DataFrame, config: CollateralScoreConfig | None = None) -> pd.DataFrame:
    """Every sub-score by name (``legal.remaining_life``, …), in [0, 1] and oriented as documented
    (higher = more collateral value); NaN where the indicator is missing. Before the validity gate."""
    c = config or CollateralScoreConfig()
    ind = scored_arrays(indicators)
    cols: dict[str, NDArray[np.float64]] = {}
    for level, names, fn in _LEVELS:
        for name, (_, s) in zip(names, fn(ind, c)):
            cols[f"{level}.{name}"] = np.clip(np.asarray(s, float), 0.0, 1.0)
    return pd.DataFrame(cols, index=indicators.index)


def expert_subscore_weights(config: CollateralScoreConfig | None = None) -> dict[str, float]:
    """Each sub-score's weight in the value score (level weight × sub-weight, both renormalised; sums
    to 1), the weights a calibrated variant is compared with."""
    c = config or CollateralScoreConfig()
    level_w = {"legal": c.legal_weight, "technical": c.technical_weight, "economic": c.economic_weight}
    total = sum(level_w.values())
    empty = {n: np.array([np.nan]) for n in SCORED_COLUMNS}
    out: dict[str, float] = {}
    for level, names, fn in _LEVELS:
        parts = fn(empty, c)
        wsum = sum(w for w, _ in parts)
        for name, (w, _) in zip(names, parts):
            out[f"{level}.{name}"] = level_w[level] / total * w / wsum
    return out


def patent_value_scores(indicators: pd.DataFrame, config: CollateralScoreConfig | None = None) -> pd.DataFrame:
    """Per-patent ``legal_score``, ``technical_score``, ``economic_score`` and ``value_score`` (0–100).

    ``indicators``: one row per patent with the float columns in ``SCORED_COLUMNS`` (extra
    columns are ignored). The result keeps the input's index.
    """
    c = config or CollateralScoreConfig()
    ind = scored_arrays(indicators)
    validity = np.clip(np.nan_to_num(ind["is_valid"], nan=0.0), 0.0, 1.0)
    legal = 100.0 * validity * _weighted(legal_subscores(ind, c), c.missing_subscore)
    technical = 100.0 * _weighted(technical_subscores(ind, c), c.missing_subscore)
    economic = 100.0 * _weighted(economic_subscores(ind, c), c.missing_subscore)
    wsum = c.legal_weight + c.technical_weight + c.economic_weight
    raw = (c.legal_weight * legal + c.technical_weight * technical + c.economic_weight * economic) / wsum
    cap = c.invalid_value_cap + (100.0 - c.invalid_value_cap) * validity
    value = np.minimum(raw, cap)
    return pd.DataFrame(
        {"legal_score": legal, "technical_score": technical, "economic_score": economic, "value_score": value},
        index=indicators.index,
    )


def _base_caps(c: CollateralScoreConfig) -> dict[str, float]:
    return {
        "invention": c.ltv_invention,
        "utility_model": c.ltv_utility_model,
        "design": c.ltv_design,
        "trademark": c.ltv_trademark,
        "copyright": c.ltv_copyright,
    }


def patent_ltv_caps(right_types: ArrayLike, value_scores: ArrayLike | None, config: CollateralScoreConfig | None = None) -> NDArray[np.float64]:
    """LTV cap (fraction of appraised value) per pledged right, by right type and value score.

    ``right_types``: strings (``invention``, ``utility_model``, ``design``, ``trademark``,
    ``copyright``; anything else gets ``ltv_other``). ``value_scores``: 0–100 or None (no scaling).
    """
    c = config or CollateralScoreConfig()
    base = _base_caps(c)
    types = np.asarray(right_types, dtype=object).ravel()
    caps = np.array([base.get(str(t), c.ltv_other) for t in types], dtype=float)
    if c.ltv_scale_by_score and value_scores is not None:
        s = np.clip(np.nan_to_num(np.asarray(value_scores, float).ravel(), nan=0.0), 0.0, 100.0)
        caps = caps * (c.ltv_min_multiplier + (1.0 - c.ltv_min_multiplier) * s / 100.0)
    return np.minimum(caps, c.ltv_ceiling)


def ltv_cap(
    right_types: ArrayLike,
    value_scores: ArrayLike | None,
    config: CollateralScoreConfig | None = None,
    appraised_values: ArrayLike | None = None,
) -> float:
    """LTV cap of one pledge (fraction): the appraised-value-weighted mean of its rights' caps.

    So ``cap × Σ appraised_value = Σ cap_i × appraised_value_i`` — each right lends its own share.
    Without ``appraised_values`` (or when they sum to 0) the rights weigh equally. Empty pledge → 0.
    """
    caps = patent_ltv_caps(right_types, value_scores, config)
    if caps.size == 0:
        return 0.0
    w = np.ones_like(caps) if appraised_values is None else np.clip(np.nan_to_num(np.asarray(appraised_values, float).ravel()), 0.0, None)
    if w.shape != caps.shape:
        raise ModelError(f"ltv_cap: {caps.size} right types but {w.size} appraised values")
    if w.sum() <= 0:
        w = np.ones_like(caps)
    return float(np.dot(caps, w) / w.sum())


def ltv_caps_of_loans(
    loan_pos: ArrayLike,
    n_loans: int,
    right_types: ArrayLike,
    value_scores: ArrayLike | None,
    appraised_values: ArrayLike,
    config: CollateralScoreConfig | None = None,
) -> NDArray[np.float64]:
    """Vectorised ``ltv_cap`` over many pledges: one row per (loan, right) in (``loan_pos``, (m,):
    the row's loan in 0..n_loans-1), one cap per loan out (n_loans,); a loan without rights gets 0."""
    caps = patent_ltv_caps(right_types, value_scores, config)
    return value_weighted_by_loan(caps, appraised_values, loan_pos, n_loans, 0.0, "ltv_caps_of_loans")


def ltv_caps_by_loan(
    loan_ids: ArrayLike,
    right_types: ArrayLike,
    value_scores: ArrayLike | None,
    appraised_values: ArrayLike,
    config: CollateralScoreConfig | None = None,
) -> pd.Series:
    """``ltv_caps_of_loans`` keyed by loan id: one cap per distinct id, in order of first appearance."""
    codes, ids = loan_codes(loan_ids, "ltv_caps_by_loan")
    caps = ltv_caps_of_loans(codes, len(ids), right_types, value_scores, appraised_values, config)
    return pd.Series(caps, index=ids, name="ltv_cap")
