"""The expert patent value score against revealed value, and a data-calibrated variant of it.

Revealed value: an owner keeps paying annual fees only while the right is worth more to them than
the fee (Pakes & Schankerman), so a right that stays in force longer revealed more private value.
`direction_check` puts each documented sub-score (models.collateral, in its documented direction:
higher sub-score = more value) against the time in force: its concordance alone, and its
coefficient in a Cox model with all identifiable sub-scores.

`fit_calibrated_weights` fits the sub-score weights to the time in force: a Cox partial likelihood
(Breslow ties) on ``risk = −Σ wⱼ sⱼ`` with every ``wⱼ ≥ 0`` — the documented directions are kept,
a sub-score the data contradict simply gets weight 0 — and a small ridge penalty on standardised
sub-scores. Sub-scores that do not vary in the data (missing for every patent, or constant) cannot
be identified and keep weight 0. The result, `CalibratedValueWeights`, is a frozen config the
collateral policy can select; `calibrated_value_scores` turns it into a 0–100 score with the same
validity gate as the expert score. Pure: arrays and frames in and out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from data_contracts import ModelError
from models.collateral import (
    CollateralScoreConfig,
    expert_subscore_weights,
    subscore_frame,
)
from models.survival import harrell_c


@dataclass(frozen=True)
class CalibratedValueWeights:
    """Sub-score weights fitted to revealed value (time in force), non-negative, summing to 1.

    - ``weights``: (sub-score name, weight) pairs, names as in ``models.collateral.subscore_frame``
      (``legal.claims``, ``technical.scope``, …); absent names weigh 0.
    - ``missing_subscore``: credit of a missing indicator (0, as the expert score's default).
    - ``invalid_value_cap``: value score cap of a right not in force (10, as the expert score's).
    - ``ridge``: the penalty the weights were fitted with; ``source``, ``n``, ``events``: what they
      were fitted on (for the record; not used in scoring).
    """

    weights: tuple[tuple[str, float], ...]
    missing_subscore: float = 0.0
    invalid_value_cap: float = 10.0
    ridge: float = 0.01
    source: str = ""
    n: int = 0
    events: int = 0
    fitted_subscores: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        w = np.array([v for _, v in self.weights], float)
        if len(w) and ((w < 0).any() or not np.all(np.isfinite(w)) or abs(w.sum() - 1.0) > 1e-6):
            raise ModelError(f"calibrated value weights must be finite, >= 0 and sum to 1 (got {dict(self.weights)})")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["weights"] = dict(self.weights)
        return d

    def weight(self, name: str) -> float:
        return dict(self.weights).get(name, 0.0)


def calibrated_value_scores(indicators: pd.DataFrame, weights: CalibratedValueWeights,
                            config: CollateralScoreConfig | None = None) -> pd.Series:
    """Value score 0–100 with the calibrated weights: ``100 · Σ wⱼ sⱼ`` (a missing sub-score earns
    ``missing_subscore``), capped like the expert score when the right is not in force.
    ``config`` gives the sub-scores' curves (half-points); default `CollateralScoreConfig()`."""
    s = subscore_frame(indicators, config)
    w = pd.Series(dict(weights.weights), dtype=float).reindex(s.columns).fillna(0.0)
    raw = 100.0 * (s.fillna(weights.missing_subscore) * w).sum(axis=1).to_numpy()
    validity = np.clip(np.nan_to_num(indicators["is_valid"].to_numpy(dtype=float, na_value=np.nan), nan=0.0), 0.0, 1.0)
    cap = weights.invalid_value_cap + (100.0 - weights.invalid_value_cap) * validity
    return pd.Series(np.minimum(raw, cap), index=indicators.index, name="calibrated_value_score")


# --------------------------------------------------------------------------------------------
# Cox partial likelihood (Breslow) with non-negative value weights
# --------------------------------------------------------------------------------------------
def _risk_sets(time: NDArray, event: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Order by descending time and, per row in that order, the last position of its tie group."""
    order = np.argsort(-time, kind="stable")
    t = time[order]
    # rows with equal time share a risk set: everything up to the last of the tie group
    last = np.searchsorted(-t, -t, side="right") - 1
    return order, last, event[order].astype(bool)


def _neg_log_pl(w: NDArray, S: NDArray, order: NDArray, last: NDArray, ev: NDArray, ridge: float) -> tuple[float, NDArray]:
    eta = -(S @ w)  # higher value → lower hazard
    eta_o = eta[order]
    m = eta_o.max()
    ex = np.exp(eta_o - m)
    cum = np.cumsum(ex)[last]
    cumx = np.cumsum(ex[:, None] * S[order], axis=0)[last]
    n_ev = max(int(ev.sum()), 1)
    ll = np.sum(eta_o[ev] - m - np.log(cum[ev]))
    # d ll / d eta-coefficient (beta = -w): x_i - E_risk[x]
    grad_beta = np.sum(S[order][ev] - cumx[ev] / cum[ev][:, None], axis=0)
    f = -ll / n_ev + ridge * np.sum(w ** 2)
    g = grad_beta / n_ev + 2.0 * ridge * w  # d(-ll)/dw = +grad_beta (since beta = -w)
    return float(f), g


def _identifiable(S: pd.DataFrame) -> list[str]:
    return [c for c in S.columns if S[c].notna().any() and np.nanstd(S[c].to_numpy(dtype=float)) > 1e-9]


def fit_calibrated_weights(indicators: pd.DataFrame, time: ArrayLike, event: ArrayLike,
                           config: CollateralScoreConfig | None = None, *, ridge: float = 0.01,
                           source: str = "") -> CalibratedValueWeights:
    """Weights of the identifiable sub-scores fitted to the time in force, each ≥ 0 (documented
    direction kept), normalised to sum 1. See the module docstring."""
    c = config or CollateralScoreConfig()
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    if len(t) != len(indicators) or len(e) != len(t):
        raise ModelError(f"value calibration: {len(indicators)} rows of indicators, {len(t)} times, {len(e)} events")
    if e.sum() < 5:
        raise ModelError(f"value calibration: {int(e.sum())} lapses; need at least 5")
    S_all = subscore_frame(indicators, c)
    names = _identifiable(S_all)
    if not names:
        raise ModelError("value calibration: no sub-score varies across these patents")
    S = S_all[names].fillna(c.missing_subscore).to_numpy(dtype=float)
    sd = S.std(axis=0)
    sd[sd <= 0] = 1.0
    Z = S / sd
    order, last, ev = _risk_sets(t, e)
    res = minimize(_neg_log_pl, x0=np.full(len(names), 0.01), args=(Z, order, last, ev, ridge), jac=True,
                   method="L-BFGS-B", bounds=[(0.0, None)] * len(names))
    if not res.success and not np.all(np.isfinite(res.x)):
        raise ModelError(f"value calibration: the fit did not converge ({res.message})")
    w = np.maximum(res.x, 0.0) / sd
    if w.sum() <= 0:
        raise ModelError("value calibration: every sub-score got weight 0 (no documented direction is supported by the data)")
    w = w / w.sum()
    return CalibratedValueWeights(
        weights=tuple((n, float(x)) for n, x in zip(names, w)), missing_subscore=c.missing_subscore,
        invalid_value_cap=c.invalid_value_cap, ridge=ridge, source=source, n=len(t), events=int(e.sum()),
        fitted_subscores=tuple(names),
    )


def _unconstrained_coefs(Z: NDArray, t: NDArray, e: NDArray, ridge: float) -> NDArray:
    """Value coefficients (−β) of a ridge Cox fit without sign constraints, on standardised columns."""
    order, last, ev = _risk_sets(t, e)
    res = minimize(_neg_log_pl, x0=np.zeros(Z.shape[1]), args=(Z, order, last, ev, ridge), jac=True, method="L-BFGS-B")
    return res.x


def direction_check(indicators: pd.DataFrame, time: ArrayLike, event: ArrayLike,
                    config: CollateralScoreConfig | None = None, *, ridge: float = 0.01,
                    fitted: CalibratedValueWeights | None = None) -> pd.DataFrame:
    """Per sub-score: its expert weight, whether the data can identify it, its concordance alone with
    the time in force (``c_index``: above 0.5 = a higher sub-score goes with a longer life, as
    documented), the value coefficient of an unconstrained ridge Cox fit on standardised sub-scores
    (``coef``: > 0 supports the documented direction), the calibrated weight, and a verdict:
    ``supports``, ``contradicts`` (both the univariate C < 0.5 and the joint coefficient < 0),
    ``contradicts alone, supports jointly`` (or the reverse: the sign turns once the other
    sub-scores are held fixed), ``weak`` (|C − 0.5| < 0.01) or ``not in the data``."""
    c = config or CollateralScoreConfig()
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    S_all = subscore_frame(indicators, c)
    names = _identifiable(S_all)
    expert = expert_subscore_weights(c)
    coefs = dict.fromkeys(names, np.nan)
    if names:
        S = S_all[names].fillna(c.missing_subscore).to_numpy(dtype=float)
        sd = S.std(axis=0)
        sd[sd <= 0] = 1.0
        coefs = dict(zip(names, _unconstrained_coefs((S - S.mean(axis=0)) / sd, t, e, ridge)))
    rows = []
    for name in S_all.columns:
        ok = name in names
        ci = harrell_c(t, e, -S_all[name].fillna(c.missing_subscore).to_numpy(dtype=float)) if ok else np.nan
        coef = coefs.get(name, np.nan)
        if not ok:
            verdict = "not in the data"
        elif abs(ci - 0.5) < 0.01:
            verdict = "weak"
        elif ci > 0.5 and coef > 0:
            verdict = "supports"
        elif ci < 0.5 and coef < 0:
            verdict = "contradicts"
        elif ci < 0.5:
            verdict = "contradicts alone, supports jointly"
        else:
            verdict = "supports alone, contradicts jointly"
        rows.append({"subscore": name, "expert_weight": expert.get(name, 0.0), "identifiable": ok, "c_index": ci,
                     "coef": coef, "calibrated_weight": fitted.weight(name) if fitted else np.nan, "verdict": verdict})
    return pd.DataFrame(rows)
