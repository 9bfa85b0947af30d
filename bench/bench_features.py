"""Benchmark of the loan feature frame: fit + transform on a ~100k-loan book, and single requests.

Run: .venv/bin/python bench/bench_features.py [--firms 80000] [--seed 7] [--requests 200]
     .venv/bin/python bench/bench_features.py --psi [--firms 8000] — only the population stability of
     the citation features between the fit years and the test year (out-of-time split of training;
     the builder fitted on the fit years, with the book's dated events)

Uses `pipelines.demo_book.generate_book(firms, seed)` when it exists (80,000 firms ≈ 100k loans),
otherwise the tests' hand-made maker (`tests/features/feature_book.make_tables`) with 1.25 loans per
firm. Prints wall time, rows/s and peak memory (tracemalloc: Python + numpy allocations during the
step; ru_maxrss: the process's peak resident set). Figures only, never pass/fail.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _book(firms: int, seed: int):
    if importlib.util.find_spec("pipelines.demo_book") is not None:
        from pipelines.demo_book import generate_book

        print(f"book: pipelines.demo_book.generate_book({firms}, seed={seed})")
        return generate_book(firms, seed=seed)
    sys.path.insert(0, str(ROOT / "tests" / "features"))
    from feature_book import make_tables

    loans = int(firms * 1.25)
    print(f"book: pipelines.demo_book not found; tests/features/feature_book.make_tables({loans}, seed={seed})")
    return make_tables(loans, seed=seed)


def _timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def _psi(firms: int, seed: int) -> None:
    import pandas as pd

    from features import FeatureBuilder
    from models import metrics as M
    from pipelines.training.splits import TrainConfig, subset_book, year_split

    book = _book(firms, seed)
    loans = book["loans"]
    train, valid, test, years = year_split(loans, TrainConfig())
    fit = train | valid
    b = FeatureBuilder().fit(subset_book(book, pd.Index(loans.loc[fit, "loan_id"])))
    X = b.transform(book).reindex(loans["loan_id"])
    print(f"PSI fit years → test year {years} ({int(fit.sum()):,} → {int(test.sum()):,} loans); dated events: "
          f"{[t for t in ('patent_citations', 'patent_legal_events') if t in book]}")
    for c in X.columns:
        if "citation" in c:
            print(f"  {c:42s} {M.psi(X[c].to_numpy()[fit], X[c].to_numpy()[test], bins=10):.4f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=80_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=200, help="single requests to time")
    ap.add_argument("--psi", action="store_true", help="print the PSI of the citation features between fit and test years, then stop")
    args = ap.parse_args(argv)
    if args.psi:
        _psi(args.firms, args.seed)
        return

    import pandas as pd

    from features import FeatureBuilder

    t0 = time.perf_counter()
    book = {k: v for k, v in _book(args.firms, args.seed).items() if k in ("firms", "patents", "loans", "pledges")}
    print(f"book built in {time.perf_counter() - t0:.1f} s: " + ", ".join(f"{k} {len(v):,}" for k, v in book.items()))
    n = len(book["loans"])

    builder, fit_s, fit_mb = _timed(lambda: FeatureBuilder().fit(book))
    X, tr_s, tr_mb = _timed(lambda: builder.transform(book))
    # untraced repeat: tracemalloc slows allocation-heavy code
    t0 = time.perf_counter()
    builder = FeatureBuilder().fit(book)
    X = builder.transform(book)
    plain_s = time.perf_counter() - t0

    print(f"frame: {X.shape[0]:,} loans x {X.shape[1]} features, dtypes {sorted(set(map(str, X.dtypes)))}")
    print(f"fit:            {fit_s:7.3f} s (traced)   peak traced memory {fit_mb:8.1f} MiB")
    print(f"transform:      {tr_s:7.3f} s (traced)   peak traced memory {tr_mb:8.1f} MiB")
    print(f"fit+transform:  {plain_s:7.3f} s (untraced) -> {n / plain_s:,.0f} loans/s, "
          f"{len(book['pledges']) / plain_s:,.0f} pledges/s")

    # single requests: one firm, its pledged patents, one loan (the serving path is the same code)
    pledges_by_loan = book["pledges"].groupby("loan_id", sort=False)["patent_id"].apply(list)
    patents = book["patents"].set_index("patent_id", drop=False)
    firms = book["firms"].set_index("firm_id", drop=False)
    loans = book["loans"].set_index("loan_id", drop=False)
    ids = book["loans"]["loan_id"].iloc[:: max(1, n // args.requests)].iloc[: args.requests]
    times = []
    for lid in ids:
        loan = loans.loc[[lid]]
        pats = pledges_by_loan.get(lid, [])
        req = {
            "firms": firms.loc[loan["firm_id"]].reset_index(drop=True),
            "patents": patents.loc[pats].reset_index(drop=True),
            "loans": loan.reset_index(drop=True),
            "pledges": pd.DataFrame({"loan_id": [lid] * len(pats), "patent_id": pats}),
        }
        t0 = time.perf_counter()
        builder.transform(req)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"single request: median {statistics.median(times) * 1e3:.2f} ms, p95 {times[int(0.95 * (len(times) - 1))] * 1e3:.2f} ms "
          f"over {len(times)} requests")
    print(f"process peak RSS (ru_maxrss, includes the book): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
