"""Benchmark of the training pipeline and batch scoring (issue: risk models and training).

Prints, for a demo book of ~100k loans (default seed 7):
- the whole `iprisk train` (validation, features, PD + scorecard + recovery, report, MLflow, gate) wall time;
- champion PD out-of-time AUC, the oracle AUC (true PD) and their ratio (target ≥ 0.98);
- mean predicted PD against the 95% interval of the observed default rate on the test year(s);
- the share of populated grades whose Jeffreys test passes (target ≥ 90%);
- batch scoring (`iprisk score` path) throughput against a bare `predict_proba` on the same rows;
- a second training on a changed book (another seed): the gate's recorded decision.

Usage: .venv/bin/python bench/bench_training.py [--firms 80000] [--seed 7] [--skip-second]
Runs in a private temporary registry; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, default=80000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-second", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="iprisk-bench-train-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlruns.db'}"
    os.environ["IPRISK_HOME"] = str(work)


    from pipelines.demo_book import generate_book, write_book
    from pipelines.readers import read_book
    from pipelines.training import train_book

    t = time.perf_counter()
    book = work / "book"
    write_book(generate_book(args.firms, args.seed), book, seed=args.seed, n_firms=args.firms)
    print(f"demo book: {args.firms:,} firms, seed {args.seed}, generated in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    res = train_book(book, out_dir=work / "train", progress=lambda m: print(f"  [{time.perf_counter() - t:6.1f} s] {m}", flush=True))
    wall = time.perf_counter() - t
    m = res["metrics"]
    rows = m.get("pd.default_rate")
    print(f"\nwhole train: {wall:.1f} s (target ≤ 120 s)")
    print(f"PD out-of-time AUC {m['pd.auc']:.4f} | oracle AUC {m['oracle.auc']:.4f} | ratio {m['pd.auc_to_oracle']:.4f} (target ≥ 0.98)")
    print(f"scorecard AUC {m['scorecard.auc']:.4f} | ratio {m['scorecard.auc_to_oracle']:.4f}")
    print(f"mean PD {m['pd.mean_pd']:.4%} vs observed {rows:.4%} [95% {m['pd.default_rate_lo95']:.4%}, {m['pd.default_rate_hi95']:.4%}] "
          f"→ {'inside' if m['pd.mean_pd_in_interval'] else 'OUTSIDE'}")
    print(f"Jeffreys pass share {m['pd.jeffreys_pass_share']:.0%} of {int(m['pd.populated_grades'])} populated grades (target ≥ 90%)")
    print(f"Hosmer-Lemeshow p {m['pd.hosmer_lemeshow_p']:.3f} | PSI score {m['pd.psi_score']:.4f}")
    print(f"LGD: MAE {m['recovery.lgd_mae']:.4f}, bias {m['recovery.lgd_bias']:+.4f}, "
          f"mean expected {m['recovery.mean_expected_lgd']:.4f} vs realised {m['recovery.mean_realised_lgd']:.4f}")
    print("gate:", "; ".join(f"{g['model']} v{g['version']} {g['decision']} ({g['reason']})" for g in res["gate"]))

    # batch scoring throughput against a bare predict_proba on the same rows
    from pipelines.batch_scoring import score_tables
    from pipelines.registry import load_bundle

    bundle = load_bundle()
    tables = read_book(book)
    X = bundle.features(tables)
    Xp = X[list(bundle.pd_model.feature_names_)]
    n = len(X)
    bundle.pd_model.predict_proba(Xp.head(100))
    t = time.perf_counter()
    bundle.pd_model.predict_proba(Xp)
    bare = time.perf_counter() - t
    t = time.perf_counter()
    frame = score_tables(bundle, tables)
    full = time.perf_counter() - t
    t = time.perf_counter()
    score_tables(bundle, tables, reasons=0)
    noreason = time.perf_counter() - t
    print(f"\nbatch scoring {n:,} loans: full path (features, PD, LGD, EL, limits, price, decision, 3 reasons) {full:.2f} s = {n / full:,.0f} loans/s; "
          f"without reasons {noreason:.2f} s = {n / noreason:,.0f} loans/s")
    print(f"bare predict_proba: {bare:.2f} s = {n / bare:,.0f} rows/s; ratio full/bare throughput {bare / full:.3f} (target ≥ 0.03), "
          f"without reasons {bare / noreason:.3f} (target ≥ 0.3)")
    print("decisions:", frame["recommendation"].value_counts().to_dict())

    if not args.skip_second:
        book2 = work / "book2"
        write_book(generate_book(args.firms, args.seed + 1), book2, seed=args.seed + 1, n_firms=args.firms)
        t = time.perf_counter()
        res2 = train_book(book2, out_dir=work / "train2")
        print(f"\nsecond train on a changed book (seed {args.seed + 1}): {time.perf_counter() - t:.1f} s")
        for g in res2["gate"]:
            print(f"  {g['model']} v{g['version']}: {g['decision']} — {g['reason']}")
    print(f"\n(work folder {work})")


if __name__ == "__main__":
    sys.exit(main())
