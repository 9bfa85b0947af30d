"""Monitoring benchmark (prints figures; asserts nothing).

1. Scenarios: a stable population (the demo book's own model, another seed, its last year) and a
   shifted one (downturn year, tilted sector mix, older patents; `pipelines/demo_book_shift.py`),
   each scored with the champions by the service's scoring code (`models.scoring.score_applications`)
   and recorded in its own audit store with the service's schema; `iprisk monitor` on each, with the
   populations' outcomes: verdict, PSI of the score, top drifting features, back-test.
2. Scale: N recorded decisions (default 1,000,000: the scenarios' decisions repeated with new request
   ids, spread over 4 months) written straight into a SQLite audit store, then `iprisk monitor
   --window month` in a child process, twice (timings vary on a shared machine): wall time,
   peak memory of the largest process and of the job with its workers.

Registry: the project's (a champion with a reference profile must exist), or `--train N` builds an
N-firm demo book and trains into a temporary registry first.

    .venv/bin/python bench/bench_monitor.py [--train 2500] [--decisions 1000000] [--stable-seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
IPRISK = str(Path(sys.executable).parent / "iprisk")


def _scenario(name: str, tables, bundle, folder: Path) -> tuple[str, Path, list[tuple]]:
    from models.scoring import score_applications
    from pipelines.audit_store import AuditLog, dumps, now_utc
    from pipelines.demo_book_shift import applications

    apps = applications(tables)
    decisions = score_applications(bundle, apps)
    versions = dumps({k: str(v) for k, v in bundle.versions.items()})
    rows = [(uuid.uuid4().hex, now_utc(), "loans/score", "bench", "credit_officer", dumps(a), dumps(d), versions)
            for a, d in zip(apps, decisions)]
    url = f"sqlite:///{folder / f'{name}.db'}"
    log = AuditLog(url)
    log.append_many(rows)
    log.close()
    out = folder / f"{name}_outcomes.csv"
    tables["outcomes"][["loan_id", "defaulted", "default_date", "realised_lgd"]].to_csv(out, index=False)
    return url, out, rows


def _monitor(env: dict, *args: str) -> tuple[dict, float, float, float, int]:
    """Run `iprisk monitor --json ARGS`: (summary, wall s, peak MB of the largest process, peak MB of
    the whole process tree — job plus its workers — sampled every 0.1 s, exit code)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([IPRISK, "monitor", "--json", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent, tree_peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 10, 11):
        raise SystemExit(f"iprisk monitor failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out), wall, peak / 1024, tree_peak / 1e6, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=0, help="train on an N-firm demo book into a temporary registry first")
    ap.add_argument("--decisions", type=int, default=1_000_000)
    ap.add_argument("--stable-seed", type=int, default=1)
    ap.add_argument("--shifted-seed", type=int, default=22)
    ap.add_argument("--firms", type=int, default=2500, help="firms per generated population")
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="iprisk-bench-monitor-"))
    if a.train:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlruns.db'}"
        os.environ["IPRISK_HOME"] = str(folder)
        from pipelines.demo_book import generate_book, write_book
        from pipelines.training import train_book

        write_book(generate_book(a.train, 11), folder / "book", seed=11, n_firms=a.train)
        print(f"trained: {train_book(folder / 'book')['registered_versions']}")
    from pipelines.demo_book_shift import shifted_population, stable_population
    from pipelines.registry import load_bundle

    env = {**os.environ, "IPRISK__MONITORING__OUTPUT_DIR": str(folder / "monitoring")}
    bundle = load_bundle()
    print(f"champions: {bundle.versions}; work folder {folder}")
    rows_all = []
    for name, tables in (("stable", stable_population(a.firms, a.stable_seed)), ("shifted", shifted_population(a.firms, a.shifted_seed))):
        url, outcomes, rows = _scenario(name, tables, bundle, folder)
        rows_all += rows
        s, wall, _, _, code = _monitor(env, "--audit-url", url, "--outcomes", str(outcomes), "--as-of", "2030-01-01",
                                    "--out", str(folder / f"report-{name}"))
        w = s["windows"][0]
        bt = s["backtest"]["overall"]
        print(f"\n{name}: {w['decisions']} decisions, verdict {s['verdict']} (exit {code}), PSI of the score {w['psi_score']:.3f}, "
              f"mean PD {w['mean_pd']:.2%}")
        print("  top drifting features: " + ", ".join(f"{f['feature']} {f['csi']:.3f}" for f in w["top_features"]))
        print(f"  back-test: {bt['loans']} loans, {bt['defaults']} defaults, AUC {bt.get('auc') or float('nan'):.3f}, mean PD "
              f"{bt['mean_pd']:.2%} vs default rate {bt['default_rate']:.2%} [{bt['default_rate_lo95']:.2%}, "
              f"{bt['default_rate_hi95']:.2%}], Jeffreys failures {bt['jeffreys_failures']}")
        print("  breaches: " + "; ".join(b["message"] for b in w["breaches"]) + f"  ({wall:.1f} s)")

    from pipelines.audit_store import AuditLog

    n = a.decisions
    url = f"sqlite:///{folder / 'million.db'}"
    log = AuditLog(url)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    step = timedelta(days=120) / n
    t0 = time.perf_counter()
    batch = []
    for i in range(n):
        r = rows_all[i % len(rows_all)]
        batch.append((f"{i:012d}{r[0][:20]}", (start + i * step).isoformat(timespec="microseconds"), *r[2:]))
        if len(batch) == 50_000:
            log.append_many(batch)
            batch = []
    if batch:
        log.append_many(batch)
    log.close()
    size = (folder / "million.db").stat().st_size / 1e9
    print(f"\nwrote {n:,} decisions ({size:.1f} GB) in {time.perf_counter() - t0:.0f} s")
    for run in (1, 2):
        s, wall, peak, tree, code = _monitor(env, "--audit-url", url, "--window", "month", "--out", str(folder / f"report-million-{run}"))
        print(f"run {run}: iprisk monitor over {s['decisions']:,} decisions in {len(s['windows'])} windows: wall {wall:.1f} s, "
              f"peak memory {peak:.0f} MB (largest process), {tree:.0f} MB (job + workers), verdict {s['verdict']} (exit {code}); "
              f"monitor's own timer {s['seconds']} s")


if __name__ == "__main__":
    main()
