"""One decision and one batch, timed in CPU seconds and optionally profiled, for this tree and
(side by side, in the same run) another checkout of the project, e.g. the commit before a speed-up.

CPU time (``time.process_time``) is used by default because the machine is shared: wall time under load
measures the neighbours. Each tree runs in its own subprocess; the runs alternate ``--rounds``
times and the best round per tree is reported, with the load average next to the figures.
Needs a registry with champion models and a demo book (``iprisk train`` on ``iprisk demo``):

    IPRISK_HOME=DIR MLFLOW_TRACKING_URI=sqlite:///DIR/mlruns.db \\
      .venv/bin/python bench/bench_decision_profile.py --book DIR/book [--baseline OLD_TREE] [--profile OUT_DIR]

``--baseline OLD_TREE``: e.g. ``git archive <commit> | tar -x -C OLD_TREE``. The decisions of
both trees are compared (JSON of ``score_applications``, and the batch frame) and reported as
identical or not. ``--profile OUT_DIR``: pyinstrument text profiles of one decision loop and one
batch per tree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def worker(book: Path, n_apps: int, profile_dir: str | None, tag: str, wall: bool = False, dump_dir: str | None = None) -> dict:
    """Runs inside the tree under test (cwd and sys.path set by the parent)."""
    sys.path.insert(0, os.getcwd())
    sys.path.insert(0, str(Path(os.getcwd()) / "tests" / "e2e"))
    import pandas as pd
    from servicekit import book_applications

    from data_contracts import application as checks
    from models.scoring import score_applications
    from pipelines.batch_scoring import read_applications, score_tables
    from pipelines.registry import load_bundle

    bundle = load_bundle()
    apps = [checks.fill_application(a, a["loan"]["loan_id"]) for a in book_applications(book, n_apps, seed=1)]
    for a in apps[:3]:
        score_applications(bundle, [a])  # warm caches (lookups, lazy imports)
    clock = time.perf_counter if wall else time.process_time
    c = clock()
    decisions = [score_applications(bundle, [a])[0] for a in apps]
    one = (clock() - c) / len(apps)
    per_call = {}  # one call with b applications: fixed cost vs cost per application (what adaptive batching buys)
    for b in (1, 8, 32):
        if b <= len(apps):
            times = []
            for r in range(5):
                c = clock()
                score_applications(bundle, apps[r:r + b] if r + b <= len(apps) else apps[:b])
                times.append(clock() - c)
            per_call[str(b)] = min(times) * 1e3

    tables = read_applications(book)
    n = len(tables["loans"])
    X = bundle.features(tables)[list(bundle.pd_model.feature_names_)]
    bundle.pd_model.predict_proba(X.head(100))
    c = clock()
    bundle.pd_model.predict_proba(X)
    bare = clock() - c
    c = clock()
    frame = score_tables(bundle, tables)
    full = clock() - c
    c = clock()
    score_tables(bundle, tables, reasons=0)
    nor = clock() - c

    if profile_dir:
        from pyinstrument import Profiler

        out = Path(profile_dir)
        out.mkdir(parents=True, exist_ok=True)
        pr = Profiler(interval=0.0005)
        pr.start()
        for a in apps:
            score_applications(bundle, [a])
        pr.stop()
        (out / f"decision_{tag}.txt").write_text(pr.output_text(unicode=False, color=False))
        pr = Profiler(interval=0.001)
        pr.start()
        score_tables(bundle, tables)
        pr.stop()
        (out / f"batch_{tag}.txt").write_text(pr.output_text(unicode=False, color=False))

    digest = hashlib.sha256(json.dumps(decisions, sort_keys=True, default=str).encode()).hexdigest()
    batch_digest = hashlib.sha256(pd.util.hash_pandas_object(frame.astype(str), index=True).to_numpy().tobytes()).hexdigest()
    if dump_dir:
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
        (Path(dump_dir) / f"decisions_{tag}.json").write_text(json.dumps(decisions, default=str))
        frame.to_parquet(Path(dump_dir) / f"batch_{tag}.parquet")
    return {"one_ms": one * 1e3, "per_call_ms": per_call, "n_loans": n, "bare": bare, "full": full, "nor": nor, "decisions": digest, "batch": batch_digest}


def run(tree: Path, args, tag: str) -> dict:
    cmd = [sys.executable, str(HERE / "bench" / "bench_decision_profile.py"), "--worker", "--book", str(args.book), "--apps", str(args.apps), "--tag", tag]
    cmd += ["--wall"] if args.wall else []
    cmd += ["--dump", str(args.dump)] if args.dump else []
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    res = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"{tree}: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--book", type=Path, required=True)
    ap.add_argument("--baseline", type=Path, help="another checkout to time side by side")
    ap.add_argument("--apps", type=int, default=30, help="single decisions to time")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="this", help=argparse.SUPPRESS)
    ap.add_argument("--wall", action="store_true", help="wall time instead of CPU time (a quiet machine; counts "
                    "multi-threaded LightGBM calls the way bench_training.py's wall-clock ratios do)")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.book, args.apps, str(args.profile) if args.profile else None, args.tag, args.wall,
                                str(args.dump) if args.dump else None)))
        return
    if args.baseline:
        args.dump = Path(tempfile.mkdtemp(prefix="iprisk-bench-dp-"))
    trees = {"before": args.baseline, "after": HERE} if args.baseline else {"after": HERE}
    best: dict[str, dict] = {}
    for r in range(args.rounds):
        for tag, tree in trees.items():
            if args.profile and r > 0:
                args_p, args.profile = args.profile, None
                res = run(tree, args, tag)
                args.profile = args_p
            else:
                res = run(tree, args, tag)
            b = best.setdefault(tag, res)
            for k in ("one_ms", "bare", "full", "nor"):
                b[k] = min(b[k], res[k])
            for k, v in res["per_call_ms"].items():
                b["per_call_ms"][k] = min(b["per_call_ms"][k], v)
    la = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {la} (cores {os.cpu_count()}); best of {args.rounds} round(s), {'wall' if args.wall else 'CPU'} time")
    for tag, b in best.items():
        print(f"{tag:>6}: one decision {b['one_ms']:.1f} ms; batch {b['n_loans']} loans: bare predict_proba {b['bare']:.3f} s, "
              f"with reasons {b['full']:.3f} s (ratio {b['bare'] / b['full']:.3f}, target ≥ 0.03), "
              f"without {b['nor']:.3f} s (ratio {b['bare'] / b['nor']:.3f}, target ≥ 0.3)")
        calls = ", ".join(f"{k} application(s) {v:.1f} ms" for k, v in b["per_call_ms"].items())
        print(f"{'':>8}one scoring call with {calls}")
    if len(best) == 2:
        same = best["before"]["decisions"] == best["after"]["decisions"]
        same_b = best["before"]["batch"] == best["after"]["batch"]
        print(f"decisions identical (JSON): {same}; batch frames identical: {same_b}")
        if not (same and same_b):
            for line in differences(args.dump):
                print("  " + line)


def _leaves(x, path=""):
    """(path, value) of every scalar in a JSON document, list positions kept in the path."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def differences(dump: Path) -> list[str]:
    """What differs between the two trees' outputs: per numeric field the largest absolute and
    relative difference, per other field the count of values that differ."""
    import re

    import numpy as np
    import pandas as pd

    out = []
    a, b = (pd.read_parquet(dump / f"batch_{t}.parquet") for t in ("before", "after"))
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if pd.api.types.is_float_dtype(a[c]):
            d = np.abs(x - y)
            d = d[np.isfinite(d)]
            rel = d / np.maximum(np.abs(x[np.isfinite(np.abs(x - y))]), 1e-300)
            if d.size and d.max() > 0:
                out.append(f"batch {c}: max |Δ| {d.max():.3g}, max relative {rel.max():.3g}, rows differing {(d > 0).sum()}")
        elif not np.array_equal(x.astype(str), y.astype(str)):
            out.append(f"batch {c}: {(x.astype(str) != y.astype(str)).sum()} of {len(x)} values differ")
    fields: dict[str, list] = {}
    da, db = (json.loads((dump / f"decisions_{t}.json").read_text()) for t in ("before", "after"))
    for (pa, va), (pb, vb) in zip(_leaves(da), _leaves(db)):
        key = re.sub(r"\[\d+\]", "[]", pa)
        if pa != pb:
            fields.setdefault("structure", []).append(1)
        elif isinstance(va, float) and isinstance(vb, float):
            fields.setdefault(key, []).append(abs(va - vb) / max(abs(va), 1e-300))
        elif va != vb:
            fields.setdefault(key, []).append(float("inf"))
    for k, v in fields.items():
        if max(v) > 0:
            what = "values differ" if max(v) == float("inf") else f"max relative |Δ| {max(v):.3g}"
            out.append(f"decisions {k}: {what} ({sum(x > 0 for x in v)} of {len(v)})")
    return out or ["only float bits beyond the printed precision differ"]


if __name__ == "__main__":
    main()
