"""Benchmark of the demo-book generator: time, peak memory, and the book's headline figures.

Run: .venv/bin/python bench/bench_demo_book.py [--firms 80000] [--seed 7] [--learnability] [--trace-memory]

Prints generation time and peak memory (process max RSS; tracemalloc on request) for ``--firms`` firms (80,000 ≈ 100k loans), the
default rate, the oracle AUC (AUC of the true PD) overall and on the latest year, mean realised LGD
against mean true expected LGD, and with ``--learnability`` a quick LightGBM fitted on raw contract
columns of the earlier years and tested out of time on the last two years (AUC against the oracle's,
mean predicted PD against the observed default rate's 95% interval).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.demo_book import generate_book, write_book  # noqa: E402


def _simple_features(book: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Raw contract columns per loan plus obvious aggregates (firm age, LTV, size against revenue)."""
    loans, firms, patents, pledges = book["loans"], book["firms"], book["patents"], book["pledges"]
    pl = pledges.merge(patents[["patent_id", "appraised_value", "legal_status"]], on="patent_id")
    pl["non_granted_value"] = pl["appraised_value"] * (pl["legal_status"] != "granted")
    agg = pl.groupby("loan_id")[["appraised_value", "non_granted_value"]].sum()
    x = loans.merge(firms, on="firm_id", suffixes=("", "_firm")).set_index("loan_id").loc[loans["loan_id"]]
    x = x.join(agg)
    out = pd.DataFrame(index=x.index)
    for c in firms.columns:
        if c in ("firm_id", "currency", "founding_date"):
            continue
        out[c] = x[c].astype("category") if firms[c].dtype == object or str(firms[c].dtype) == "str" else x[c].astype(float)
    out["age_years"] = (x["origination_date"] - x["founding_date"]).dt.days / 365.25
    out["ltv"] = x["amount"] / x["appraised_value"]
    out["amount_to_revenue"] = x["amount"] / x["revenue"].clip(lower=1.0)
    out["log_amount"] = np.log(x["amount"])
    out["term_months"] = x["term_months"].astype(float)
    out["non_granted_share"] = x["non_granted_value"] / x["appraised_value"]
    return out


def learnability(book: dict[str, pd.DataFrame]) -> None:
    import lightgbm as lgb

    loans, outcomes, truth = book["loans"], book["outcomes"], book["ground_truth"]
    year = loans["origination_date"].dt.year.to_numpy()
    y = outcomes["defaulted"].to_numpy(bool)
    x = _simple_features(book)
    test = year >= year.max() - 1
    model = lgb.LGBMClassifier(n_estimators=400, learning_rate=0.03, num_leaves=15, min_child_samples=100,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.8, verbose=-1, random_state=0)
    model.fit(x[~test], y[~test])
    p = model.predict_proba(x[test])[:, 1]
    auc = roc_auc_score(y[test], p)
    oracle = roc_auc_score(y[test], truth["true_pd"].to_numpy()[test])
    d, n = int(y[test].sum()), int(test.sum())
    lo, hi = stats.beta.ppf([0.025, 0.975], d + 0.5, n - d + 0.5)
    print(f"learnability (LightGBM on raw columns, train <= {year.max() - 2}, test {year.max() - 1}-{year.max()}):")
    print(f"  test AUC {auc:.4f}  oracle AUC {oracle:.4f}  ratio {auc / oracle:.4f}")
    print(f"  mean predicted PD {p.mean():.4f}  observed {d / n:.4f}  Jeffreys 95% [{lo:.4f}, {hi:.4f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=80_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--learnability", action="store_true")
    ap.add_argument("--trace-memory", action="store_true", help="also measure peak allocations with tracemalloc")
    args = ap.parse_args()

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    book = generate_book(args.firms, args.seed)
    t_gen = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = None
    if args.trace_memory:  # a second, traced run (tracemalloc slows numpy down, so it is not timed)
        tracemalloc.start()
        generate_book(args.firms, args.seed)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        write_book(book, tmp, seed=args.seed, n_firms=args.firms)
        t_write = time.perf_counter() - t1
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())

    loans, outcomes, truth = book["loans"], book["outcomes"], book["ground_truth"]
    y = outcomes["defaulted"].to_numpy(bool)
    year = loans["origination_date"].dt.year.to_numpy()
    last = year == year.max()
    print(f"firms {args.firms:,}  loans {len(loans):,} ({len(loans) / args.firms:.3f} per firm)  "
          f"patents {len(book['patents']):,}  seed {args.seed}")
    traced = f"  peak traced allocations {peak:.0f} MiB" if peak is not None else ""
    print(f"generate {t_gen:.2f} s  process max RSS {rss:.0f} MiB (after imports {rss0:.0f} MiB){traced}  "
          f"write {t_write:.2f} s ({size / 2**20:.1f} MiB parquet)")
    print(f"default rate {y.mean():.4f}  mean true PD {truth['true_pd'].mean():.4f}")
    print(f"oracle AUC overall {roc_auc_score(y, truth['true_pd']):.4f}  "
          f"latest year {year.max()} {roc_auc_score(y[last], truth['true_pd'][last]):.4f}")
    by_year = pd.DataFrame({"year": year, "defaulted": y, "true_pd": truth["true_pd"]}).groupby("year").agg(
        loans=("defaulted", "size"), default_rate=("defaulted", "mean"), mean_true_pd=("true_pd", "mean"))
    print(by_year.round(4).to_string())
    print(f"mean realised LGD {outcomes['realised_lgd'][y].mean():.4f}  "
          f"mean true expected LGD (defaults) {truth['true_expected_lgd'][y].mean():.4f}  "
          f"patents sold after default {outcomes['patents_sold'][y].mean():.3f}")
    print(f"loans under CNY 10m {np.mean(loans['amount'] < 1e7):.3f}  median amount {loans['amount'].median():,.0f}")
    if args.learnability:
        learnability(book)


if __name__ == "__main__":
    main()
