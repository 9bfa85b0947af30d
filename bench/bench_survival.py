"""Patents on real records: register ingestion and patent survival on the shared CNIPA and USPTO files.

Run: .venv/bin/python bench/bench_survival.py [--k 5] [--seed 0] [--kinds ensemble,rsf,gbm,cox] [--seeds 0,1,2]

Prints
1. ingestion of both files (read, check, events — no files written): counts per event type, rejects
   with their reasons, wall time;
2. for each model kind, K-fold cross-validated Harrell's C and Uno's C per fold and on average,
   on the same folds (``--seeds``: more fold draws, mean only);
3. on the same folds: the expert value score's C (default CollateralScoreConfig) and the calibrated
   value score's (weights fitted on the training folds);
4. the out-of-fold calibration table of the default model at 3, 5 and 8 years per risk band
   (predicted survival against Kaplan–Meier with its 95% interval);
5. the value score's sub-scores against revealed value (direction check, calibrated weights).
The default-kind lines with seed 0 are the figures `iprisk patents train-survival --cv 5` reports.
Reads ../shared/data (read-only). Figures only: it asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.survival import SurvivalConfig
from models.value_calibration import direction_check, fit_calibrated_weights
from pipelines.registers.cnipa import cnipa_events, read_cnipa, reject_rows
from pipelines.registers.events import event_counts
from pipelines.registers.uspto import read_uspto_assignments
from pipelines.survival_job import SurvivalTrainConfig, cross_validate, load_lapse_data

SHARED = ROOT.parent / "shared" / "data"
CNIPA = SHARED / "cnipa_patent_lapse" / "cn_invention_patents_1999_2002.csv"
USPTO = SHARED / "uspto_assignments" / "ad20160101.zip"

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)


def ingestion() -> None:
    print("== 1. Ingestion (read as published, checked against the contracts, events derived)")
    t0 = time.perf_counter()
    r = read_cnipa(CNIPA)
    ev = cnipa_events(r.table, r.source_file)
    dt = time.perf_counter() - t0
    print(f"CNIPA {CNIPA.name}: {r.rows_read} rows read, {len(r.table)} valid, {r.rows_rejected} rejected; "
          f"{len(ev)} events; {dt:.2f} s")
    d = r.decoding
    print(f"  lines {d.lines} (CRLF {d.crlf}, LF {d.lf}); fallback {d.fallback_encoding}: whole lines {list(d.fallback_lines)}, "
          f"spans in lines {list(d.mixed_lines)}; unreadable characters {d.replaced}")
    for k, v in event_counts(ev).items():
        if v:
            print(f"  {k:24s} {v:6d}")
    for row in reject_rows(r.rejects):
        print(f"  rejected line {row['source_line']} ({str(row['application_number'])[:16]!r}): {row['broken_rules']} broken rules, "
              f"e.g. {'; '.join(row['reasons'])}")
    t0 = time.perf_counter()
    u = read_uspto_assignments(USPTO)
    dt = time.perf_counter() - t0
    print(f"USPTO {USPTO.name}: {u.transactions} transactions, {u.documents} documents, {len(u.events)} events; "
          f"0 rejected (a bad record stops the run); {dt:.2f} s")
    tx = dict(u.transactions_by_event)
    for k, v in event_counts(u.events).items():
        if v:
            print(f"  {k:24s} {v:6d} events  {tx.get(k, 0):4d} transactions")
    for text, n in sorted(u.conveyances.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4d}  {text}")


def survival(k: int, seed: int, kinds: list[str], seeds: list[int]) -> None:
    base = SurvivalTrainConfig(cv_seed=seed)
    t0 = time.perf_counter()
    data = load_lapse_data(CNIPA, "cnipa_patents", base)
    print(f"\n== 2. Survival sample: {data.n} granted rights, {data.events} lapses, {data.n - data.events} censored at "
          f"{base.sample.snapshot_date}; excluded {data.excluded}; {time.perf_counter() - t0:.1f} s")
    print(f"{k}-fold CV, seed {seed}, the same folds for every score (Harrell's C; Uno's C to {base.model.tau_years:g} years)")
    results = {}
    for kind in kinds:
        cfg = replace(base, model=SurvivalConfig(kind=kind))
        t0 = time.perf_counter()
        res = cross_validate(data, k, cfg)
        results[kind] = res
        f = res["folds"]
        print(f"  {kind:9s} Harrell " + " ".join(f"{x:.4f}" for x in f["c_index"]) + f" | mean {res['mean']['c_index']:.4f} "
              f"± {res['std']['c_index']:.4f};  Uno " + " ".join(f"{x:.4f}" for x in f["uno_c_index"])
              + f" | mean {res['mean']['uno_c_index']:.4f}  ({time.perf_counter() - t0:.0f} s)")
    first = results[kinds[0]]
    f = first["folds"]
    print("\n== 3. Value scores on the same folds")
    print("  expert     Harrell " + " ".join(f"{x:.4f}" for x in f["expert_c_index"]) + f" | mean {first['mean']['expert_c_index']:.4f} "
          f"± {first['std']['expert_c_index']:.4f};  Uno mean {first['mean']['expert_uno_c_index']:.4f}")
    print("  calibrated Harrell " + " ".join(f"{x:.4f}" for x in f["calibrated_c_index"]) + f" | mean {first['mean']['calibrated_c_index']:.4f} "
          f"± {first['std']['calibrated_c_index']:.4f}")
    for kind, res in results.items():
        print(f"  {kind} − expert: {res['mean']['c_index'] - res['mean']['expert_c_index']:+.4f}")
    if seeds:
        print(f"\n  other fold draws ({k}-fold, mean Harrell C):")
        for s in seeds:
            line = []
            for kind in kinds:
                res = cross_validate(data, k, replace(base, cv_seed=s, model=SurvivalConfig(kind=kind)))
                line.append(f"{kind} {res['mean']['c_index']:.4f}")
            line.append(f"expert {res['mean']['expert_c_index']:.4f}")
            line.append(f"calibrated {res['mean']['calibrated_c_index']:.4f}")
            print(f"  seed {s}: " + ", ".join(line))
    print(f"\n== 4. Out-of-fold calibration ({kinds[0]}), risk bands = quartiles of the out-of-fold risk (1 safest)")
    cal = first["calibration"].copy()
    cal["95% CI"] = cal.apply(lambda r: f"{r['observed_low']:.3f}–{r['observed_high']:.3f}", axis=1)
    print(cal[["band", "n", "lapses", "horizon_years", "predicted", "observed", "95% CI", "error", "inside"]]
          .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\n== 5. Value score sub-scores against the time in force (all rights)")
    w = fit_calibrated_weights(data.V, data.time, data.event, ridge=base.value_ridge, source=CNIPA.name)
    d = direction_check(data.V, data.time, data.event, ridge=base.value_ridge, fitted=w)
    print(d[d["identifiable"]].drop(columns="identifiable").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("  not in the CNIPA table: " + ", ".join(d.loc[~d["identifiable"], "subscore"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="ensemble,rsf,gbm,cox")
    ap.add_argument("--seeds", default="", help="extra fold seeds, e.g. 1,2 (mean C only)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    ingestion()
    survival(a.k, a.seed, a.kinds.split(","), [int(s) for s in a.seeds.split(",") if s])
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
