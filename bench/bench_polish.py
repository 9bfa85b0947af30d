"""5-fold stratified CV AUC on the Polish bankruptcy data (year 1, UCI 365): PDModel with the
product's default settings (pipelines/iprisk.yaml, risk-direction policy included), plain
LightGBM defaults, and the WoE scorecard, on the same folds of split seeds 7, 0 and 1; the
direction-evidence table of the hand-written contract; PDModel under the policies contract /
supported / none on the same folds; and ``--halves``: ``iprisk train --test`` on one half of the
firms, tested on the other.

Run: .venv/bin/python bench/bench_polish.py [--k 5] [--seeds 7,0,1] [--only pd,lgbm,scorecard,policies,halves] [--variant JSON ...] [--speed]
(``--variant '{"lightgbm": {"path_smooth": 5}}'`` passes raw LightGBM parameters; ``--only none`` runs the variants alone.)
Reads ../shared/data/polish_bankruptcy/1year.arff (read-only); columns mapped by the contract.
The PDModel line of seed 7 is the figure ``iprisk train --cv 5`` prints as cv_auc_mean (``--cv 5
--cv-seeds 7,0,1`` prints all three and their mean). Also prints predict_pd / contributions
latency for 1 and 10,000 rows. ``--speed`` also times one fit of each model on a synthetic
loan-book-sized frame (100k x 60, fitted like the training job: 80k rows, validation year of 10k).
"""

from __future__ import annotations

import argparse
import json
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
    from models.scorecard import Scorecard
    from pipelines.training.configs import load_training_settings

    s = load_training_settings()
    return Scorecard(s.scorecard, monotone_constraints=directions, direction_policy=s.directions)


def product_pd(directions, seed: int, policy: str | None = None, overrides: dict | None = None):
    """PDModel exactly as pipelines/training/table.py builds it (settings file), policy and
    ``pd_model`` fields (``overrides``) overridable. ``overrides["lightgbm"]``: raw LightGBM
    parameters without a ``pd_model`` field (e.g. ``{"path_smooth": 5}``), added to every booster's
    parameters — for research runs only; the product's model has no such switch."""
    from dataclasses import replace

    from models.pd_model import PDModel
    from pipelines.training.configs import load_training_settings

    s = load_training_settings()
    pol = s.directions if policy is None else replace(s.directions, policy=policy)
    over = dict(overrides or {})
    raw = over.pop("lightgbm", None)
    cfg = replace(s.pd_model, **over)
    cls = PDModel if not raw else type("PDModelResearch", (PDModel,), {"_params": lambda self, c: {**PDModel._params(self, c), **raw}})
    return cls(cfg, monotone_constraints=directions, random_state=seed, direction_policy=pol)


def evidence_table(X, y, directions) -> None:
    from models.direction_evidence import direction_evidence
    from pipelines.training.configs import load_training_settings

    ev = direction_evidence(X, y, directions, load_training_settings().directions)
    print("Direction evidence, hand-written contract (all rows):")
    print(ev.to_string(index=False, float_format=lambda v: f"{v:.4f}"), flush=True)


def halves(seed: int = 7) -> None:
    """Split the ARFF file's firms in two stratified halves (two ARFF files), then
    ``train_table(half A, --test half B)`` with a private registry; prints the test figures."""
    import os
    import tempfile

    from sklearn.model_selection import train_test_split

    lines = DATA.read_text(encoding="utf-8", errors="replace").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data")
    rows = [line for line in lines[at + 1:] if line.strip() and not line.startswith("%")]
    labels = [r.rsplit(",", 1)[1].strip() for r in rows]
    a, b = train_test_split(rows, test_size=0.5, stratify=labels, random_state=seed)
    tmp = Path(tempfile.mkdtemp(prefix="polish-halves-"))
    for name, part in (("half_a.arff", a), ("half_b.arff", b)):
        (tmp / name).write_text("\n".join(lines[: at + 1] + part) + "\n", encoding="utf-8")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlruns.db'}"
    os.environ["IPRISK_HOME"] = str(tmp)
    from pipelines.training import train_table

    r = train_table(tmp / "half_a.arff", ROOT / "data_contracts" / "polish_bankruptcy.yaml", test_file=tmp / "half_b.arff",
                    out_dir=tmp / "out", promote=False)
    t = r["test"]
    print(f"--test halves (seed {seed}): train {r['rows']:,} rows / {r['defaults']} defaults, test {r['test_rows']:,} / "
          f"{r['test_defaults']}: test.auc {t['auc']:.4f} (scorecard {t['scorecard.auc']:.4f}); mean PD {t['mean_pd']:.4f} vs "
          f"default rate {t['default_rate']:.4f} [{t['default_rate_lo95']:.4f}, {t['default_rate_hi95']:.4f}], in interval "
          f"{bool(t['mean_pd_in_interval'])}; Jeffreys pass share {t['jeffreys_pass_share']:.2f}; PSI of the score {t['psi_score']:.4f}",
          flush=True)


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
    ap.add_argument("--seeds", default="7,0,1", help="comma-separated CV split seeds (7 = the training job's)")
    ap.add_argument("--only", default="pd,lgbm,scorecard,policies,halves")
    ap.add_argument("--variant", action="append", default=[], metavar="JSON",
                    help='PDModel with pd_model fields overridden, e.g. \'{"learning_rate": 0.02, "max_rounds": 3000}\'; '
                         'raw LightGBM parameters under "lightgbm", e.g. \'{"lightgbm": {"path_smooth": 5}}\' (repeatable; same folds)')
    ap.add_argument("--speed", action="store_true", help="also time fits on a 100k x 60 synthetic frame")
    args = ap.parse_args()

    from models.metrics import cross_validated_auc

    X, y, directions = load_polish()
    only = args.only.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"Polish 1year: {len(y)} rows, {int(y.sum())} defaults, {X.shape[1]} features; risk directions {directions}")
    if "policies" in only:
        evidence_table(X, y, directions)
    candidates = {
        "pd": ("PDModel (product defaults)", lambda s: product_pd(directions, s)),
        "lgbm": ("LightGBM plain defaults", lambda s: PlainLGBM()),
        "scorecard": ("Scorecard (defaults)", lambda s: _scorecard(directions)),
    }
    if "policies" in only:
        from pipelines.training.configs import load_training_settings

        default = load_training_settings().directions.policy
        print(f"policy {default} (the settings' default) is the 'PDModel (product defaults)' line; the others:")
        for pol in (p for p in ("contract", "supported", "none") if p != default):
            candidates[f"policy_{pol}"] = (f"PDModel policy {pol}", lambda s, p=pol: product_pd(directions, s, p))
    for text in args.variant:
        over = json.loads(text)
        candidates[f"variant_{text}"] = (f"PDModel {text}", lambda s, o=over: product_pd(directions, s, overrides=o))
    keys = [k for k in candidates if k in only or (k.startswith("policy_") and "policies" in only) or k.startswith("variant_")]
    for key in keys:
        name, factory = candidates[key]
        means = []
        for seed in seeds:
            t = time.perf_counter()
            mean, std, per = cross_validated_auc(lambda f=factory, s=seed: f(s), X, y, k=args.k, seed=seed)
            dt = time.perf_counter() - t
            means.append(mean)
            folds = " ".join(f"{a:.4f}" for a in per)
            print(f"{name:28s} seed {seed}: {args.k}-fold AUC {mean:.4f} ± {std:.4f}  [{folds}]  "
                  f"CV time {dt:5.1f} s ({dt / args.k:4.1f} s per fit)", flush=True)
        print(f"{name:28s} mean over seeds {','.join(map(str, seeds))}: {np.mean(means):.4f}", flush=True)
    if "halves" in only:
        halves()
    if "latency" in only:
        t = time.perf_counter()
        m = product_pd(directions, 7).fit(X, y)
        print(f"PDModel (defaults) fit on all {len(y):,} rows: {time.perf_counter() - t:.1f} s, "
              f"{len(m.boosters_)} booster(s) x {m.best_iteration_} rounds", flush=True)
        latency(m, X)
    if args.speed:
        speed()


if __name__ == "__main__":
    main()
