"""Do the data support a contract's risk directions? Evidence per feature, and what to enforce.

For each feature with a stated direction (+1 riskier: a higher value must not lower PD; −1 safer),
the evidence is Spearman's rank correlation ρ between the feature and the 0/1 default flag on the
rows where the feature is known, with a **permutation p-value**: the default flags are shuffled
``n_permutations`` times (one shared set of shuffles for all features, seeded) and the sum of the
feature's centred ranks over the shuffled defaults (rows where the feature is missing count 0) is
compared with the observed sum.
Two one-sided p-values come out of the same shuffles:

- ``p_contradicted``: how often chance alone leans *against* the stated direction as far as the
  data do (small = the data contradict the contract);
- ``p_supported``: how often chance leans *with* it as far (small = the data support it).

Verdicts: ``rejected`` (p_contradicted < ``strong_alpha``: flag for the data scientist),
``contradicted`` (< ``alpha``), ``supported`` (p_supported < ``alpha``), else ``not_shown``
(the data neither support nor contradict it). A direction is never flipped: the ``policy`` only
chooses which stated directions become monotone constraints:

- ``contract``: every stated direction (the contract is the truth);
- ``supported``: the stated directions the data do not contradict (``supported`` and ``not_shown``);
- ``none``: no constraints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from data_contracts.errors import ModelError

Policy = Literal["contract", "supported", "none"]
POLICIES = ("contract", "supported", "none")
VERDICTS = ("supported", "not_shown", "contradicted", "rejected")


@dataclass(frozen=True)
class DirectionPolicy:
    """Which contract risk directions the PD models enforce (settings section ``risk_directions``)."""

    policy: str = "supported"
    """``contract`` (all stated directions), ``supported`` (those the data do not contradict) or ``none``."""
    alpha: float = 0.05
    """One-sided permutation p-value below which the data contradict (or support) a direction."""
    strong_alpha: float = 0.001
    """p-value below which a contradiction is a rejection: the contract should be fixed."""
    n_permutations: int = 1999
    """Shuffles of the default flags (the smallest p-value is 1 / (n_permutations + 1))."""
    seed: int = 0
    """Seed of the shuffles."""

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ModelError(f"risk_directions.policy: {self.policy!r} is not one of {list(POLICIES)}")
        if not (0 < self.strong_alpha <= self.alpha < 1) or self.n_permutations < 1:
            raise ModelError("risk_directions: 0 < strong_alpha <= alpha < 1 and n_permutations >= 1 are required")


def rank_evidence(X: pd.DataFrame, y: Any, n_permutations: int = 1999, seed: int = 0) -> pd.DataFrame:
    """Spearman ρ of every column of ``X`` (n, p) with 0/1 flags ``y`` (n,) and its permutation tails.

    Returns one row per column: ``n`` (known values), ``rho``, ``p_up`` (chance of a covariance at
    least as positive), ``p_down`` (at least as negative); NaN where the column is constant.
    """
    yy = np.asarray(y, dtype="float64").ravel()
    if yy.size != len(X):
        raise ModelError(f"direction evidence: {yy.size} flags but {len(X)} rows")
    if not np.isin(yy, (0.0, 1.0)).all():
        raise ModelError("direction evidence: y must be 0/1 default flags")
    n, d = yy.size, int(yy.sum())
    rng = np.random.default_rng(seed)
    # a shuffle of 0/1 flags is a random choice of which d rows default: (n_permutations, d) rows
    shuffled = np.stack([rng.choice(n, d, replace=False) for _ in range(n_permutations)]) if 0 < d < n else None
    rows = []
    for c in X.columns:
        x = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype="float64")
        known = np.isfinite(x)
        r = np.zeros(n)
        r[known] = rankdata(x[known])
        r[known] -= r[known].mean()  # centred ranks; unknown rows count 0 in every covariance
        yk = yy[known]
        sd_r, sd_y = float(np.sqrt(np.mean(r[known] ** 2))) if known.any() else 0.0, float(np.std(yk)) if known.any() else 0.0
        if shuffled is None or known.sum() < 3 or sd_r == 0 or sd_y == 0:
            rows.append({"feature": str(c), "n": int(known.sum()), "rho": np.nan, "p_up": np.nan, "p_down": np.nan})
            continue
        obs = float(r @ yy)
        null = r[shuffled].sum(axis=1)
        tol = 1e-9 * float(np.abs(r).sum())  # round-off on ties
        rows.append({
            "feature": str(c), "n": int(known.sum()),
            "rho": float(r[known] @ (yk - yk.mean())) / (known.sum() * sd_r * sd_y),
            "p_up": (1 + int(np.sum(null >= obs - tol))) / (n_permutations + 1),
            "p_down": (1 + int(np.sum(null <= obs + tol))) / (n_permutations + 1),
        })
    return pd.DataFrame(rows, columns=["feature", "n", "rho", "p_up", "p_down"])


def direction_evidence(X: pd.DataFrame, y: Any, directions: Mapping[str, int],
                       policy: DirectionPolicy | None = None) -> pd.DataFrame:
    """Per feature with a stated direction (in ``X``): contract vs data, evidence, enforced or not.

    Columns: ``feature``, ``contract`` (+1/−1), ``data`` (+1/−1/0: the sign of ρ where a one-sided
    p-value is below alpha, else 0), ``rho``, ``n``, ``p_supported``, ``p_contradicted``,
    ``verdict`` (one of VERDICTS), ``enforced`` (bool under the policy), ``flag`` (True = rejected).
    """
    pol = policy or DirectionPolicy()
    stated = {k: int(v) for k, v in directions.items() if k in X.columns and int(v) != 0}
    cols = ["feature", "contract", "data", "rho", "n", "p_supported", "p_contradicted", "verdict", "enforced", "flag"]
    if not stated:
        return pd.DataFrame(columns=cols)
    ev = rank_evidence(X[list(stated)], y, pol.n_permutations, pol.seed).set_index("feature")
    rows = []
    for name, sign in stated.items():
        e = ev.loc[name]
        p_sup, p_con = (e["p_up"], e["p_down"]) if sign > 0 else (e["p_down"], e["p_up"])
        if not np.isfinite(e["rho"]):
            verdict, data = "not_shown", 0
        elif p_con < pol.strong_alpha:
            verdict, data = "rejected", -sign
        elif p_con < pol.alpha:
            verdict, data = "contradicted", -sign
        elif p_sup < pol.alpha:
            verdict, data = "supported", sign
        else:
            verdict, data = "not_shown", 0
        enforced = pol.policy == "contract" or (pol.policy == "supported" and verdict in ("supported", "not_shown"))
        rows.append({"feature": name, "contract": sign, "data": data, "rho": float(e["rho"]), "n": int(e["n"]),
                     "p_supported": float(p_sup), "p_contradicted": float(p_con), "verdict": verdict,
                     "enforced": bool(enforced), "flag": verdict == "rejected"})
    return pd.DataFrame(rows, columns=cols)


def enforced_directions(evidence: pd.DataFrame) -> dict[str, int]:
    """Feature → sign for the rows of a ``direction_evidence`` table that are enforced."""
    return {r.feature: int(r.contract) for r in evidence.itertuples() if r.enforced}


def choose_directions(X: pd.DataFrame, y: Any, directions: Mapping[str, int] | None,
                      policy: DirectionPolicy | None) -> tuple[dict[str, int], pd.DataFrame | None]:
    """The directions a model enforces under ``policy`` and the evidence table behind them.

    ``policy`` None keeps every stated direction and computes no evidence (a model used on its own);
    otherwise the evidence is computed for every stated direction in ``X`` whatever the policy, so
    contradictions are reported under ``none`` too. Names absent from ``X`` pass through untouched.
    """
    given = {k: int(v) for k, v in (directions or {}).items()}
    if policy is None:
        return given, None
    ev = direction_evidence(X, y, given, policy)
    absent = {} if policy.policy == "none" else {k: v for k, v in given.items() if k not in X.columns}
    return {**absent, **enforced_directions(ev)}, ev


def describe_contradictions(evidence: pd.DataFrame, table: str = "") -> list[str]:
    """One line per contradicted or rejected direction (rejected ones flagged for the contract's owner)."""
    where = f"{table}." if table else ""
    word = {1: "riskier", -1: "safer"}
    out = []
    for r in evidence.itertuples():
        if r.verdict not in ("contradicted", "rejected"):
            continue
        line = (f"{where}{r.feature}: contract says '{word[r.contract]}', the data say '{word[-r.contract]}' "
                f"(Spearman ρ {r.rho:+.3f}, permutation p {r.p_contradicted:.4f}); "
                f"{'enforced anyway (policy contract)' if r.enforced else 'not enforced'}")
        if r.flag:
            line += " — rejected at the strong level: fix the contract's risk_direction"
        out.append(line)
    return out
