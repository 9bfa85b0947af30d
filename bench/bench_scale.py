"""Scale-out benchmark (prints figures; asserts nothing).

1. Book: a demo book of `--loans` loans (a generated `--base-firms` book tiled with suffixed ids)
   scored by the single-process path (`pipelines.batch_scoring.score_tables`) and by
   `iprisk score --scheduler local:N` (`pipelines.scale.book_scoring.score_book`): wall time,
   loans/s, peak memory (VmHWM) of each Dask worker and of this process, output checksums.
2. Monte Carlo: `--mc-loans` heterogeneous loans (PD, LGD, LGD volatility, exposure and sector
   drawn at random; sector factors with tau 0.5) × `--paths` paths, one process (threads) against
   the local cluster: time, memory, and whether every tranche figure is identical for the seed.

    .venv/bin/python bench/bench_scale.py [--loans 1000000] [--workers 2] [--paths 10000000] [--part book|mc|both]

Registry: MLFLOW_TRACKING_URI's champions, or `--train N` trains on an N-firm demo book first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tiled_book(base: Path, out: Path, loans: int) -> Path:
    """`loans` loans from copies of the book at `base`, ids suffixed per copy (firms, patents, loans)."""
    t = {n: pd.read_parquet(base / f"{n}.parquet") for n in ("firms", "patents", "loans", "pledges")}
    copies = -(-loans // len(t["loans"]))
    code = {pid: i for i, pid in enumerate(t["patents"]["patent_id"])}  # ids that keep the contracts' patterns
    parts = {n: [] for n in t}
    for c in range(copies):
        def firm(s, c=c):
            return s + f"{c:03d}"

        def pat(s, c=c):
            return s.map(lambda x: f"CN{c:03d}{code[x]:09d}0")

        def loan(s, c=c):
            return "L" + f"{c:03d}" + s.str[1:]

        parts["firms"].append(t["firms"].assign(firm_id=firm(t["firms"]["firm_id"])))
        parts["patents"].append(t["patents"].assign(patent_id=pat(t["patents"]["patent_id"]), firm_id=firm(t["patents"]["firm_id"])))
        parts["loans"].append(t["loans"].assign(loan_id=loan(t["loans"]["loan_id"]), firm_id=firm(t["loans"]["firm_id"])))
        parts["pledges"].append(t["pledges"].assign(loan_id=loan(t["pledges"]["loan_id"]), patent_id=pat(t["pledges"]["patent_id"])))
    big = {n: pd.concat(v, ignore_index=True) for n, v in parts.items()}
    big["loans"] = big["loans"].iloc[:loans]
    firms = set(big["loans"]["firm_id"])
    big["firms"] = big["firms"][big["firms"]["firm_id"].isin(firms)]
    big["patents"] = big["patents"][big["patents"]["firm_id"].isin(firms)]
    big["pledges"] = big["pledges"][big["pledges"]["loan_id"].isin(set(big["loans"]["loan_id"]))]
    out.mkdir(parents=True, exist_ok=True)
    for n, df in big.items():
        df.to_parquet(out / f"{n}.parquet", index=False)
    return out


def worker_peaks(client) -> list[float]:
    def hwm() -> float:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")
    return sorted(client.run(hwm).values())


def bench_book(args, work: Path) -> None:
    from pipelines.batch_scoring import read_applications, score_tables
    from pipelines.demo_book import generate_book, write_book
    from pipelines.registry import load_bundle
    from pipelines.scale.book_scoring import frame_checksum, input_fingerprint, score_book
    from pipelines.scale.cluster import Scheduler, dask_client, load_scale

    base = work / "base"
    t = time.perf_counter()
    write_book(generate_book(args.base_firms, 7), base, seed=7, n_firms=args.base_firms)
    book = tiled_book(base, work / "book", args.loans)
    print(f"book: {args.loans:,} loans (a {args.base_firms:,}-firm demo book, seed 7, tiled) built in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    tables = read_applications(book)
    info = input_fingerprint(book)
    print(f"read + contract checks: {time.perf_counter() - t:.0f} s; {len(tables['patents']):,} patents, "
          f"{len(tables['pledges']):,} pledges, {len(tables['firms']):,} firms", flush=True)
    bundle = load_bundle()
    cfg = load_scale()
    n = len(tables["loans"])

    sched = Scheduler("local", args.workers)
    t = time.perf_counter()
    with dask_client(sched, cfg) as client:
        from pipelines.batch_scoring import chunks

        warm = next(chunks(tables, 50))  # imports and the bundle on every worker, outside the timing
        score_book(warm, bundle, work / "warm-up", sched, replace(cfg, partition_loans=10), client=client)
        ready = time.perf_counter() - t
        t1 = time.perf_counter()
        man = score_book(tables, bundle, work / "scores", sched, cfg, input_info=info, client=client)
        wall = time.perf_counter() - t1
        peaks = worker_peaks(client)
    print(f"\nlocal:{args.workers} ({cfg.partition_loans:,} loans per partition, {len(man['partitions'])} partitions): "
          f"{wall:.1f} s = {n / wall:,.0f} loans/s (cluster start and warm-up {ready:.1f} s more); peak memory per worker "
          f"{', '.join(f'{p:,.0f}' for p in peaks)} MB (target ≤ 2,048); checksum {man['output_checksum'][:16]}", flush=True)

    t = time.perf_counter()
    frame = score_tables(bundle, tables)
    single = time.perf_counter() - t
    same = frame_checksum(frame) == man["output_checksum"]
    print(f"single process (score_tables): {single:.1f} s = {n / single:,.0f} loans/s; peak memory of this process "
          f"{peak_mb():,.0f} MB (holds the whole book); checksum {frame_checksum(frame)[:16]}")
    print(f"speed-up {single / wall:.2f}×; identical output: {same}")


def mc_pool(n: int, seed: int = 3):
    from models.portfolio import pool_from_arrays

    rng = np.random.default_rng(seed)
    sectors = np.array(["software", "biotech", "hardware", "materials", "energy", "equipment"])
    return pool_from_arrays(rng.lognormal(15, 0.8, n), rng.beta(1.2, 40, n).clip(0.002, 0.3), rng.uniform(0.35, 0.85, n),
                            rng.uniform(0.05, 0.2, n), rng.choice(sectors, n))


def bench_mc(args) -> None:
    from models.portfolio import CorrelationStructure, MonteCarloConfig, TrancheRequest, evaluate_pool
    from models.portfolio.tranches import TrancheSpec
    from pipelines.scale.cluster import Scheduler, dask_client, load_scale
    from pipelines.scale.paths import dask_runner

    pool = mc_pool(args.mc_loans)
    req = TrancheRequest(method="mc", correlation=CorrelationStructure(0.2, 0.5),
                         tranches=(TrancheSpec(0, 0.03, "first-loss"), TrancheSpec(0.03, 0.08, "mezzanine"), TrancheSpec(0.08, 1, "senior")),
                         monte_carlo=MonteCarloConfig(paths=args.paths, seed=11, memory_limit_mb=4096))
    print(f"\nMonte Carlo: {args.mc_loans:,} heterogeneous loans × {args.paths:,} paths, 6 sectors (tau 0.5), stochastic LGD", flush=True)
    sched = Scheduler("local", args.workers)
    t = time.perf_counter()
    with dask_client(sched, load_scale()) as client:
        evaluate_pool(mc_pool(20), TrancheRequest(method="mc", correlation=req.correlation, tranches=req.tranches,
                                                  monte_carlo=MonteCarloConfig(paths=1000)), runner=dask_runner(client))  # imports on the workers
        ready = time.perf_counter() - t
        t1 = time.perf_counter()
        dist_res = evaluate_pool(pool, req, runner=dask_runner(client))
        wall = time.perf_counter() - t1
        peaks = worker_peaks(client)
    print(f"  local:{args.workers}: {wall:.1f} s = {args.mc_loans * args.paths / wall / 1e6:,.1f} M loan-paths/s (cluster start and warm-up "
          f"{ready:.1f} s more); peak memory per worker {', '.join(f'{p:,.0f}' for p in peaks)} MB", flush=True)
    before = peak_mb()
    t = time.perf_counter()
    local = evaluate_pool(pool, req)
    one = time.perf_counter() - t
    print(f"  one process ({req.monte_carlo.workers} threads): {one:.1f} s = {args.mc_loans * args.paths / one / 1e6:,.1f} M loan-paths/s; "
          f"peak memory {max(before, peak_mb()):,.0f} MB")
    same = local.as_dict() == dist_res.as_dict() and np.array_equal(local.distribution.losses, dist_res.distribution.losses)
    print(f"  identical tranche figures and paths for seed 11: {same}")
    for r in local.as_dict()["tranches"]:
        print(f"    {r['name']:10s} EL {r['expected_loss']:.5%}  P(loss) {r['probability_of_loss']:.5%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--base-firms", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mc-loans", type=int, default=1000)
    ap.add_argument("--paths", type=int, default=10_000_000)
    ap.add_argument("--part", choices=("book", "mc", "both"), default="both")
    ap.add_argument("--train", type=int, default=0, help="Train on an N-firm demo book into a temporary registry first.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iprisk-bench-scale-"))
    if args.train:
        from pipelines.demo_book import generate_book, write_book
        from pipelines.training import train_book

        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlruns.db'}"
        os.environ["IPRISK_HOME"] = str(work)
        write_book(generate_book(args.train, 11), work / "train-book", seed=11, n_firms=args.train)
        train_book(work / "train-book", out_dir=work / "train")
    print(f"{os.cpu_count()} CPUs; work folder {work}", flush=True)
    if args.part in ("mc", "both"):
        bench_mc(args)
    if args.part in ("book", "both"):
        bench_book(args, work)


if __name__ == "__main__":
    main()
