"""Decision-engine figures: collateral scoring, recovery fit/predict and LGD bias, loan-limit and
counterfactual bisection. Synthetic inputs; prints a table. Run:

    .venv/bin/python bench/bench_decision.py [--n 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.collateral import INDICATOR_COLUMNS, patent_value_scores  # noqa: E402
from models.decision import LimitsConfig, max_loan_amount, risk_based_price  # noqa: E402
from models.explain import counterfactual_amount  # noqa: E402
from models.lgd import loss_given_default  # noqa: E402
from models.recovery import RecoveryConfig, RecoveryModel  # noqa: E402


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def disposal(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"x{i}" for i in range(8)])
    sold = rng.uniform(size=n) < expit(-0.3 + X["x0"].to_numpy())
    frac = rng.beta(2, 3, n) * expit(X["x1"].to_numpy()) * 1.6
    years = 0.5 + 3 * rng.beta(2, 3, n)
    value = rng.lognormal(15, 0.7, n)
    ead = rng.uniform(0.1, 0.6, n) * value
    g = rng.uniform(0, 0.4, n)
    lgd = loss_given_default(ead, np.where(sold, frac * value, 0), years, 0.08, g)
    return X, sold, np.where(sold, frac, np.nan), years, value, ead, g, lgd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000, help="loans / patents to score")
    ap.add_argument("--defaults", type=int, default=2000, help="defaulted loans to fit the recovery model on")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    ind = pd.DataFrame(rng.uniform(0, 5, size=(args.n, len(INDICATOR_COLUMNS))), columns=list(INDICATOR_COLUMNS))
    _, t = _timed(lambda: patent_value_scores(ind))
    rows.append(("collateral score", f"{args.n} patents", f"{t * 1e3:.0f} ms", f"{args.n / t:,.0f} patents/s"))

    Xtr, s, f, y, *_ = disposal(args.defaults, 1)
    Xte, _, _, _, v, ead, g, lgd = disposal(args.n, 2)
    for name, cfg in [("lightgbm", RecoveryConfig(years_estimator="linear")), ("linear", RecoveryConfig(sell_estimator="logistic", price_estimator="linear"))]:
        m, t_fit = _timed(lambda cfg=cfg: RecoveryModel(cfg).fit(Xtr, s, f, y))
        e, t_pred = _timed(lambda m=m: m.expected_lgd(Xte, ead, v, g, 0.0, 0.0, 0.08))
        rows.append((f"recovery fit ({name})", f"{args.defaults} defaults", f"{t_fit:.2f} s", ""))
        rows.append((f"expected LGD ({name})", f"{args.n} loans", f"{t_pred:.2f} s",
                     f"mean {e.mean():.4f} vs realised {lgd.mean():.4f} (bias {e.mean() - lgd.mean():+.4f}, s.e. {lgd.std() / np.sqrt(args.n):.4f})"))

    fn = m.lgd_function(Xte, v, g, 0.0, 0.0, 0.08)
    pd_ = rng.uniform(0.001, 0.2, args.n)
    cap = rng.uniform(0.1, 0.5, args.n)
    res, t = _timed(lambda: max_loan_amount(pd_, fn, v, cap, LimitsConfig()))
    counts = pd.Series(res.binding).value_counts().to_dict()
    rows.append(("max_loan_amount (recovery LGD)", f"{args.n} loans", f"{t:.2f} s", f"binding {counts}"))
    _, t = _timed(lambda: risk_based_price(pd_, fn(res.amount), 24))
    rows.append(("risk_based_price", f"{args.n} loans", f"{t * 1e3:.0f} ms", ""))

    one = Xte.iloc[:1]
    fn1 = m.lgd_function(one, v[:1], g[:1], 0.0, 0.0, 0.08)
    score1 = lambda a: (np.full_like(a, 0.02), fn1(a))  # noqa: E731
    _, t = _timed(lambda: counterfactual_amount(score1, v[:1] * 0.6, v[:1], 0.25))
    rows.append(("counterfactual (one application)", "1 loan", f"{t * 1e3:.1f} ms", ""))
    score = lambda a: (pd_, fn(a))  # noqa: E731
    out, t = _timed(lambda: counterfactual_amount(score, v * 0.6, v, cap))
    n_found = sum(c.amount is not None for c in out)
    rows.append(("counterfactual (batch)", f"{args.n} loans", f"{t:.2f} s", f"{n_found} approvable"))

    table = Table(title="decision engine")
    for col in ("step", "size", "time", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(*r)
    Console().print(table)


if __name__ == "__main__":
    main()
