"""Benchmark of the foundation (issue: setup, contracts, demo book, readers, features).

For a demo book of ~100k loans it prints the time, rows per second and peak memory of
1. demo-book generation, 2. batch validation with the Great Expectations suites, 3. feature
building — and their total (target: within 60 s and 2 GB on a 2-core machine). Then the fast
validator's per-record time for one loan application against GX's for the same record
(target: at least 20x faster).

Usage: .venv/bin/python bench/bench_foundation.py [--firms 80000] [--seed 7]
Each stage runs in its own child process so its peak memory (RSS) is its own; prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path


def _stage(name: str, book: str, firms: int, seed: int, q) -> None:
    t = time.perf_counter()
    if name == "generate":
        from pipelines.demo_book import generate_book, write_book

        tables = generate_book(firms, seed)
        write_book(tables, book, seed=seed, n_firms=firms)
        rows = len(tables["loans"])
    elif name == "validate":
        from pipelines.validation_job import validate_book

        rep = validate_book(book, Path(book) / "validation")
        assert rep.success, rep.violations[:3]
        import pandas as pd

        rows = len(pd.read_parquet(Path(book) / "loans.parquet"))
    else:
        from features import FeatureBuilder
        from pipelines.readers import read_book

        tables = read_book(book)
        X = FeatureBuilder().fit_transform(tables)
        rows = len(X)
    secs = time.perf_counter() - t
    q.put({"stage": name, "seconds": secs, "rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def per_record(book: Path, repeats: int = 200) -> dict[str, float]:
    """Median time to check one loan record: fast validator vs a GX suite run on a one-row frame."""
    import statistics

    import pandas as pd

    from data_contracts import load_contract
    from data_contracts.gx_suite import gx_check_frame as run_suite
    from data_contracts.validate import check_record

    loans = pd.read_parquet(book / "loans.parquet")
    contract = load_contract("loans")
    rec = loans.iloc[0].to_dict()
    one = loans.head(1)
    fast = []
    for _ in range(repeats):
        t = time.perf_counter()
        check_record(rec, contract)
        fast.append(time.perf_counter() - t)
    run_suite(one, contract)  # warm-up (context creation)
    slow = []
    for _ in range(10):
        t = time.perf_counter()
        run_suite(one, contract)
        slow.append(time.perf_counter() - t)
    f, s = statistics.median(fast), statistics.median(slow)
    return {"fast_us": f * 1e6, "gx_ms": s * 1e3, "ratio": s / f}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, default=80000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    book = Path(tempfile.mkdtemp(prefix="iprisk-bench-found-")) / "book"
    ctx = mp.get_context("spawn")
    results = []
    for name in ("generate", "validate", "features"):
        q = ctx.Queue()
        p = ctx.Process(target=_stage, args=(name, str(book), args.firms, args.seed, q))
        p.start()
        r = q.get()
        p.join()
        results.append(r)
        print(f"{name:9s} {r['seconds']:6.1f} s  {r['rows'] / r['seconds']:>10,.0f} loans/s  peak RSS {r['peak_rss_mb']:,.0f} MB", flush=True)
    total = sum(r["seconds"] for r in results)
    peak = max(r["peak_rss_mb"] for r in results)
    print(f"total     {total:6.1f} s  for {results[0]['rows']:,} loans; largest peak RSS {peak:,.0f} MB (target: ≤ 60 s, ≤ 2 GB)")
    try:
        pr = per_record(book)
        print(f"one loan record: fast validator {pr['fast_us']:.1f} µs vs GX {pr['gx_ms']:.1f} ms → {pr['ratio']:,.0f}x faster (target ≥ 20x)")
    except ImportError as e:  # the GX runner's name differs
        print(f"per-record comparison skipped: {e}")
    print(json.dumps({"stages": results, "total_seconds": total}, indent=None))


if __name__ == "__main__":
    sys.exit(main())
