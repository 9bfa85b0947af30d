"""Validation speed: GX batch validation of a whole loan book, and one loan record, fast vs GX.

    .venv/bin/python bench/bench_validation.py [--firms 5000] [--seed 7] [--repeats 200]

Prints: per table rows, expectations and seconds for the GX batch run (with rows/s and peak
resident memory), the fast validator's `check_frame` time for the same book, and the
per-record time of `check_record` next to GX's time for the same single loan record, with the ratio.
Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _book(n_firms: int, seed: int):
    try:
        from pipelines.demo_book import generate_book

        return generate_book(n_firms, seed), "pipelines.demo_book.generate_book"
    except ImportError:
        sys.path.insert(0, str(ROOT / "tests" / "data_contracts"))
        from contract_book import make_book

        return make_book(n_firms, seed), "tests/data_contracts/contract_book.make_book"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=200, help="fast-validator repeats for the per-record time")
    ap.add_argument("--gx-repeats", type=int, default=10, help="GX repeats for the per-record time")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from data_contracts import load_contract
    from data_contracts.validate import check_record, check_tables

    console = Console()
    tables, source = _book(args.firms, args.seed)
    rows = sum(len(t) for t in tables.values())
    console.print(f"book: {args.firms:,} firms from {source}; {rows:,} rows in {len(tables)} tables")

    t0 = time.perf_counter()
    import data_contracts.gx_suite as gxs  # noqa: F401  (import cost reported separately)

    console.print(f"great_expectations import: {time.perf_counter() - t0:.1f} s")

    from pipelines.validation_job import validate_tables

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    report = validate_tables(tables, ROOT / "build" / "bench_validation", source="bench", docs=False)
    gx_s = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    tab = Table(title="GX batch validation (no Data Docs)")
    for c in ("table", "rows", "expectations", "seconds", "rows/s", "ok"):
        tab.add_column(c, justify="left" if c == "table" else "right")
    for t in report.tables:
        tab.add_row(t.table, f"{t.rows:,}", str(t.expectations), f"{t.seconds:.2f}",
                    f"{t.rows / t.seconds:,.0f}", "yes" if t.success else "NO")
    console.print(tab)
    console.print(f"GX book total: {gx_s:.2f} s, {rows / gx_s:,.0f} rows/s, peak RSS {rss1 / 1024:.0f} MiB "
                  f"(+{(rss1 - rss0) / 1024:.0f} MiB over the book and imports)")

    t0 = time.perf_counter()
    fast = check_tables(tables)
    fast_s = time.perf_counter() - t0
    console.print(f"fast check_tables on the same book: {fast_s:.2f} s ({rows / fast_s:,.0f} rows/s), "
                  f"{len(fast)} violation(s)")

    # one loan record
    loans = load_contract("loans")
    row = tables["loans"].iloc[[0]]
    record = {k: (v.to_pydatetime() if hasattr(v, "to_pydatetime") else v) for k, v in row.iloc[0].to_dict().items()}
    check_record(record, loans)  # compile once
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        check_record(record, loans)
    fast_rec = (time.perf_counter() - t0) / args.repeats

    runner = gxs.GxRunner()
    runner.validate(row, loans, None, table_rules=False)  # warm up the context and asset
    t0 = time.perf_counter()
    for _ in range(args.gx_repeats):
        runner.validate(row, loans, None, table_rules=False)
    gx_rec = (time.perf_counter() - t0) / args.gx_repeats
    prep = gxs.prepare_frame(row, loans)
    suite = gxs.compile_suite(loans, prep, table_rules=False)
    t0 = time.perf_counter()
    for _ in range(args.gx_repeats):
        runner.run_suite(prep.frame, suite, "loans")
    gx_run = (time.perf_counter() - t0) / args.gx_repeats

    console.print(f"one loan record, fast check_record: {fast_rec * 1e6:,.1f} µs")
    console.print(f"one loan record, GX (prepare + compile + run, {len(suite.expectations)} expectations): "
                  f"{gx_rec * 1e3:,.1f} ms; GX run alone (precompiled suite): {gx_run * 1e3:,.1f} ms")
    console.print(f"ratio GX/fast: {gx_rec / fast_rec:,.0f}x (run alone: {gx_run / fast_rec:,.0f}x; target ≥ 20x)")


if __name__ == "__main__":
    main()
