"""Reason codes and the counterfactual loan amount.

Reason codes: the features whose additive log-odds contributions (e.g. LightGBM TreeSHAP via
``PDModel.contributions``) pushed an application's PD up the most, in plain words taken from the
features' descriptions. The counterfactual: the largest loan amount, up to the requested one, at
which ``models.decision.recommend`` would approve — "approvable at ¥X" helps more than a refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from data_contracts.errors import ModelError
from models.decision import DecisionConfig, MasterScale, assign_grade, recommend

BIAS_KEYS = ("bias", "base_value", "expected_value", "intercept", "_bias")


@dataclass(frozen=True)
class ExplanationConfig:
    """Settings section ``explanations``: what a decision explains.

    top_k_reasons: reason codes per decision (the features that raised the PD most).
    counterfactual_grid: loan amounts tried on the PD curve, geometrically between 0.1% and 100%
    of the requested amount, when looking for the largest approvable amount.
    """

    top_k_reasons: int = 4
    counterfactual_grid: int = 40

    def __post_init__(self) -> None:
        if self.top_k_reasons < 0 or self.counterfactual_grid < 2:
            raise ModelError(f"explanations: top_k_reasons >= 0 and counterfactual_grid >= 2 are required, "
                             f"got {self.top_k_reasons} and {self.counterfactual_grid}")


@dataclass(frozen=True)
class Reason:
    """One reason: ``log_odds`` is the feature's contribution; ``pd_points`` how much the PD would
    fall (fraction, e.g. 0.012 = 1.2 points) without it: ``σ(m) − σ(m − c)`` at margin ``m``."""

    feature: str
    description: str
    direction: str  # "raises risk" | "lowers risk"
    log_odds: float
    pd_points: float
    value: float | None

    def as_dict(self) -> dict:
        return {"feature": self.feature, "description": self.description, "direction": self.direction,
                "log_odds": self.log_odds, "pd_points": self.pd_points, "value": self.value}


def _describe(feature: str, descriptions: Mapping[str, object]) -> str:
    d = descriptions.get(feature)
    if d is None:
        return feature.replace("_", " ")
    return str(getattr(d, "description", d))  # a FeatureSpec or a plain string


def reason_codes(
    contributions: Mapping[str, float] | pd.Series,
    descriptions: Mapping[str, object],
    values: Mapping[str, float] | pd.Series | None = None,
    top_k: int = 4,
    margin: float | None = None,
    side: Literal["raises", "lowers", "both"] = "raises",
) -> list[Reason]:
    """Top-``top_k`` reasons of one application, largest first.

    ``contributions``: feature → log-odds contribution for this row; a bias/base entry (keys in
    ``BIAS_KEYS``) counts towards the margin but is never a reason. ``descriptions``: feature →
    plain words (str, or an object with ``.description`` such as FeatureSpec). ``values``: the
    row's feature values. ``margin``: the row's total log-odds (default: sum of contributions).
    ``side``: ``raises`` (positive contributions only, the default), ``lowers`` or ``both`` (by size).
    """
    c = pd.Series(contributions, dtype=float)
    m = float(c.sum()) if margin is None else float(margin)
    feats = c[[k for k in c.index if str(k) not in BIAS_KEYS]].dropna()
    if side == "raises":
        feats = feats[feats > 0].sort_values(ascending=False)
    elif side == "lowers":
        feats = feats[feats < 0].sort_values()
    else:
        feats = feats[feats != 0].reindex(feats[feats != 0].abs().sort_values(ascending=False).index)
    out = []
    vals = {} if values is None else dict(values)
    for f, v in feats.iloc[: max(top_k, 0)].items():
        x = vals.get(f)
        out.append(Reason(
            feature=str(f),
            description=_describe(str(f), descriptions),
            direction="raises risk" if v > 0 else "lowers risk",
            log_odds=float(v),
            pd_points=float(expit(m) - expit(m - v)),
            value=None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x),
        ))
    return out


def reason_codes_frame(
    contributions: pd.DataFrame,
    descriptions: Mapping[str, object],
    values: pd.DataFrame | None = None,
    top_k: int = 4,
    margins: ArrayLike | None = None,
) -> pd.DataFrame:
    """Batch reason codes: one row per (application, rank) with columns ``row, rank, feature,
    description, direction, log_odds, pd_points, value``; ``row`` is the contributions' index."""
    rows = []
    marg = None if margins is None else np.asarray(margins, float)
    for i, (idx, contrib) in enumerate(contributions.iterrows()):
        vals = None if values is None else values.loc[idx]
        for rank, r in enumerate(reason_codes(contrib, descriptions, vals, top_k, None if marg is None else marg[i]), start=1):
            rows.append({"row": idx, "rank": rank, **r.as_dict()})
    return pd.DataFrame(rows, columns=["row", "rank", "feature", "description", "direction", "log_odds", "pd_points", "value"])


# --------------------------------------------------------------------------- counterfactual
@dataclass(frozen=True)
class Counterfactual:
    """The approvable amount for one application, or ``amount=None``.

    ``reason``: ``as_requested`` (the requested amount is approved), ``reduced_amount`` (approvable
    at ``amount``), or for ``None`` the rule that still refuses at the smallest amount tried (e.g.
    ``pd_above_refer``). ``requested_rule``: the rule that decided the requested amount.
    ``ltv`` = amount / appraised value; PD, LGD and EL rate are at ``amount`` (or the smallest
    amount tried when ``None``)."""

    amount: float | None
    ltv: float | None
    probability_of_default: float
    loss_given_default: float
    el_rate: float
    reason: str
    requested_rule: str


Scorer = Callable[[NDArray[np.float64]], tuple[ArrayLike, ArrayLike]]


def counterfactual_amount(
    score: Scorer,
    requested_amount: ArrayLike,
    appraised_value: ArrayLike,
    ltv_cap: ArrayLike,
    config: DecisionConfig | None = None,
    scale: MasterScale | None = None,
    rel_tol: float = 1e-6,
    max_iter: int = 100,
) -> list[Counterfactual]:
    """Largest amount ≤ the requested one at which ``recommend`` approves, per application.

    ``score``: vectorised ``amount (n,) → (PD (n,), LGD (n,))`` for the n applications (PD and LGD
    non-decreasing in the amount, so approvals form an interval [0, A*] that bisection finds to
    ``rel_tol``). Money in one currency (CNY). The grade follows the PD through ``scale``. If the
    requested amount is approved it is returned; if not even ``rel_tol × requested`` is, the result
    has ``amount=None`` and the reason (e.g. ``pd_above_refer``: PD alone is too high).
    """
    c, s = config or DecisionConfig(), scale or MasterScale()
    req, v, cap = (np.atleast_1d(np.asarray(a, float)).ravel() for a in (requested_amount, appraised_value, ltv_cap))
    req, v, cap = np.broadcast_arrays(req, v, cap)
    if (~np.isfinite(req) | (req <= 0)).any():
        raise ModelError(f"counterfactual: requested amounts must be positive; got {req[~np.isfinite(req) | (req <= 0)][:5].tolist()}")

    def evaluate(a: NDArray[np.float64]):
        p, lg = score(a)
        p = np.broadcast_to(np.asarray(p, float), a.shape)
        lg = np.broadcast_to(np.asarray(lg, float), a.shape)
        el = p * lg
        with np.errstate(divide="ignore", invalid="ignore"):
            ltv = np.where(v > 0, a / np.where(v > 0, v, 1.0), np.inf)
        rec = recommend(p, el, ltv, cap, assign_grade(p, s), c)
        return rec.decision == "approve", rec.rule, p, lg, ltv

    ok_req, rule_req, *_ = evaluate(req)
    lo_amt = req * rel_tol
    ok_lo, rule_lo, *_ = evaluate(lo_amt)
    lo = np.where(ok_req, req, lo_amt)
    hi = req.copy()
    search = ~ok_req & ok_lo
    for _ in range(max_iter):
        active = search & ((hi - lo) > rel_tol * hi)
        if not active.any():
            break
        mid = 0.5 * (lo + hi)
        good = evaluate(mid)[0]
        lo = np.where(active & good, mid, lo)
        hi = np.where(active & ~good, mid, hi)
    ok_fin, rule_fin, p, lg, ltv = evaluate(lo)
    out = []
    for k in range(len(req)):
        if ok_req[k] or (search[k] and ok_fin[k]):
            out.append(Counterfactual(float(lo[k]), float(ltv[k]), float(p[k]), float(lg[k]), float(p[k] * lg[k]),
                                      "as_requested" if ok_req[k] else "reduced_amount", str(rule_req[k])))
        else:
            out.append(Counterfactual(None, None, float(p[k]), float(lg[k]), float(p[k] * lg[k]), str(rule_lo[k]), str(rule_req[k])))
    return out
