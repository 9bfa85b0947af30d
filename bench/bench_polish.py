"""5-fold stratified CV AUC on the Polish bankruptcy data (year 1, UCI 365): PDModel with the
product's default settings, plain LightGBM defaults, and the WoE scorecard; with fit times.

Run: .venv/bin/python bench/bench_polish.py [--k 5] [--seeds 7,0,1] [--only pd,lgbm,scorecard] [--speed]
Reads ../shared/data/polish_bankruptcy/1year.arff (read-only); columns mapped by the contract.
The first PDModel line (5-fold, seed 7, ``PDModel(monotone_constraints=…, random_state=7)``) is the
figure ``iprisk train --cv 5`` prints as cv_auc_mean. Also prints predict_pd / contributions
latency for 1 and 10,000 rows. ``--speed`` also times one fit of each model on a synthetic
loan-book-sized frame (100k x 60, fitted like the training job: 80k rows, validation year of 10k).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "polish_bankruptcy" / "1year.arff"


def load_polish(path: Path = DATA) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """(features float64 named as in the contract, 0/1 target, risk directions)."""
    from scipy.io import arff

    from data_contracts import load_contract

    contract = load_contract("polish_bankruptcy")
    data, _ = arff.loadarff(str(path))
    frame = pd.DataFrame(data)
    frame = frame.rename(columns={c.source_name or c.name: c.name for c in contract.columns})
    y = frame.pop(contract.target).map(lambda v: int(v.decode() if isinstance(v, bytes) else v)).to_numpy()
    return frame.astype("float64"), y, contract.risk_directions()


class PlainLGBM:
    """LightGBM with its default settings (100 rounds, 31 leaves, lr 0.1)."""

    def fit(self, X, y):
        import lightgbm as lgb

        self.m = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.m.predict_proba(X)


def _scorecard(directions):
    from models.scorecard import Scorecard, ScorecardConfig

    return Scorecard(ScorecardConfig(), monotone_constraints=directions)


def book_sized(n: int = 100_000, p: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """A synthetic frame the size of the demo loan book: p features (10 with risk directions), 3 % defaults."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i:02d}" for i in range(p)])
    w = rng.normal(scale=0.3, size=p)
    z = -4.0 + X.to_numpy() @ w + 0.5 * X["f00"] * X["f11"]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X.loc[rng.random(n) < 0.05, "f12"] = np.nan
    directions = {f"f{i:02d}": int(np.sign(w[i])) for i in range(10)}
    return X, y, directions


def speed() -> None:
    from models.metrics import auc
    from models.pd_model import PDModel, PDModelConfig

    X, y, directions = book_sized()
    cut, val = 80_000, 90_000
    for name, make in (
        ("PDModel (defaults)", lambda: PDModel(PDModelConfig(), monotone_constraints=directions)),
        ("Scorecard (defaults)", lambda: _scorecard(directions)),
    ):
        t = time.perf_counter()
        if name.startswith("PDModel"):
            m = make().fit(X.iloc[:cut], y[:cut], X.iloc[cut:val], y[cut:val])
        else:
            m = make().fit(X.iloc[:val], y[:val])
        dt = time.perf_counter() - t
        print(f"{name:28s} fit on {cut:,} x {X.shape[1]} (+{val - cut:,} validation): {dt:5.1f} s; "
              f"hold-out AUC {auc(y[val:], m.predict_pd(X.iloc[val:])):.4f}", flush=True)
        if name.startswith("PDModel"):
            latency(m, X.iloc[val:])


def latency(model, X: pd.DataFrame) -> None:
    """Median wall time per call of predict_pd and contributions, for 1 row and 10,000 rows."""
    big = pd.concat([X] * (10_000 // len(X) + 1)).iloc[:10_000]
    for what in ("predict_pd", "contributions"):
        f = getattr(model, what)
        for rows, n in ((X.iloc[[0]], 50), (big, 3)):
            f(rows)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                f(rows)
                times.append(time.perf_counter() - t)
            print(f"  {what:14s} {len(rows):6,} row(s): {1000 * np.median(times):8.1f} ms per call", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seeds", default="7", help="comma-separated CV split seeds (7 = the training job's)")
    ap.add_argument("--only", default="pd,lgbm,scorecard")
    ap.add_argument("--speed", action="store_true", help="also time fits on a 100k x 60 synthetic frame")
    args = ap.parse_args()

    from models.metrics import cross_validated_auc
    from models.pd_model import PDModel, PDModelConfig

    X, y, directions = load_polish()
    print(f"Polish 1year: {len(y)} rows, {int(y.sum())} defaults, {X.shape[1]} features; risk directions {directions}")
    candidates = {
        "pd": ("PDModel (defaults)", None),
        "lgbm": ("LightGBM plain defaults", PlainLGBM),
        "scorecard": ("Scorecard (defaults)", lambda: _scorecard(directions)),
    }
    for key in args.only.split(","):
        name, factory = candidates[key]
        for seed in (int(s) for s in args.seeds.split(",")):
            if key == "pd":  # exactly as pipelines/training/table.py: default config, random_state = CV seed
                factory = lambda s=seed: PDModel(monotone_constraints=directions, random_state=s)  # noqa: E731
            t = time.perf_counter()
            mean, std, per = cross_validated_auc(factory, X, y, k=args.k, seed=seed)
            dt = time.perf_counter() - t
            folds = " ".join(f"{a:.4f}" for a in per)
            print(f"{name:28s} seed {seed}: {args.k}-fold AUC {mean:.4f} ± {std:.4f}  [{folds}]  "
                  f"CV time {dt:5.1f} s ({dt / args.k:4.1f} s per fit)", flush=True)
    if "pd" in args.only.split(","):
        t = time.perf_counter()
        m = PDModel(PDModelConfig(), monotone_constraints=directions, random_state=7).fit(X, y)
        print(f"PDModel (defaults) fit on all {len(y):,} rows: {time.perf_counter() - t:.1f} s, "
              f"{len(m.boosters_)} booster(s) x {m.best_iteration_} rounds", flush=True)
        latency(m, X)
    if args.speed:
        speed()


if __name__ == "__main__":
    main()
