"""Tranche engines' speed: Monte Carlo for 1,000 heterogeneous loans x 1,000,000 paths (target
< 30 s and < 2 GB on 2 cores) and the exact finite pool for 1,000 loans (target < 5 s).

    .venv/bin/python bench/bench_tranches.py [--paths 1000000] [--loans 1000]

Each case runs in its own process so that its peak memory (RSS high-water mark) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def heterogeneous_pool(n: int, seed: int = 1):
    import numpy as np

    from models.portfolio import pool_from_arrays

    rng = np.random.default_rng(seed)
    return pool_from_arrays(rng.lognormal(15, 0.9, n), rng.uniform(0.003, 0.10, n), rng.uniform(0.3, 0.9, n),
                            rng.uniform(0.05, 0.25, n), rng.choice(["biotech", "software", "hardware", "semis", "medtech"], n))


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: str, loans: int, paths: int) -> dict:
    from models.portfolio import CorrelationStructure, MonteCarloConfig, TrancheRequest, loss_distribution

    pool = heterogeneous_pool(loans)
    if case == "exact":
        req = TrancheRequest(method="exact", tranches=())
    else:
        full = case == "mc_full"
        req = TrancheRequest(method="mc", tranches=(),
                             correlation=CorrelationStructure(0.2, 0.5 if full else 1.0),
                             monte_carlo=MonteCarloConfig(paths=paths, stochastic_lgd=full, workers=2))
    t0 = time.perf_counter()
    dist = loss_distribution(pool, req)
    secs = time.perf_counter() - t0
    out = {"case": case, "loans": loans, "seconds": secs, "peak_rss_mb": peak_rss_mb(),
           "expected_loss": dist.mean()[0], "q999": dist.quantile(0.999)}
    if case != "exact":
        out["paths"] = paths
        out["loan_paths_per_second"] = loans * paths / secs
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--loans", type=int, default=1000)
    ap.add_argument("--case", choices=["exact", "mc_fast", "mc_full"], help="run one case in this process")
    a = ap.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case, a.loans, a.paths)))
        return
    import os
    print(f"cores available: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    for case, what in (("exact", "exact finite pool (ASB recursion, 128 Gauss-Hermite nodes, 8192-point grid)"),
                       ("mc_fast", "Monte Carlo, one factor, expected LGD"),
                       ("mc_full", "Monte Carlo, 5 sector factors (tau 0.5), downturn stochastic LGD")):
        r = subprocess.run([sys.executable, __file__, "--case", case, "--loans", str(a.loans), "--paths", str(a.paths)],
                           capture_output=True, text=True, check=True)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        line = f"{what}: {d['loans']:,} loans"
        if "paths" in d:
            line += (f" x {d['paths']:,} paths: {d['seconds']:.1f} s, {d['loan_paths_per_second'] / 1e6:.1f} M loan-paths/s, "
                     f"peak RSS {d['peak_rss_mb']:.0f} MB")
        else:
            line += f": {d['seconds']:.2f} s, peak RSS {d['peak_rss_mb']:.0f} MB"
        print(line + f"  (EL {d['expected_loss']:.4%}, 99.9% loss {d['q999']:.2%})", flush=True)


if __name__ == "__main__":
    main()
