"""`iprisk monitor`: from the audit log to a verdict, as a short sequence of named steps.

read the outcomes (if any) → the PD model and its reference profile → stream the log in chunks
and count → per window: volume, recommendation and grade mix, PSI of the score, CSI per feature,
mean PD, back-test → verdict → JSON summary, HTML report, `latest.json` for the data scientist's
page, MLflow run → retrain when asked and the verdict is `act`. Everything is computed before the
first file is written; each file is written atomically.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from PIL import Image

from data_contracts.contract import load_contract
from data_contracts.errors import ContractViolation, InputError, RegistryError
from data_contracts.validate import check_frame
from models import metrics as M
from models.decision import MasterScale
from pipelines import registry
from pipelines import report as R
from pipelines import tracking as T
from pipelines.audit_store import decision_slices
from pipelines.monitoring import report as MR
from pipelines.monitoring.backtest import backtest, calibration_table
from pipelines.monitoring.config import MonitoringConfig, load_monitoring_config
from pipelines.monitoring.live import DECISION_ENDPOINTS, OUTPUT_FIELDS, PD_MODEL, LiveCounter, Tally, count_chunks
from pipelines.monitoring.reference import ReferenceProfile, load_reference_profile
from pipelines.monitoring.stability import share_map, stability_index
from pipelines.monitoring.verdict import EXIT_CODES, overall, verdict_of, window_breaches
from pipelines.monitoring.windows import Window, bound, check_window
from pipelines.readers import read_table
from pipelines.serving_config import load_config
from pipelines.settings import load_section
from pipelines.training import train_book

OUTCOMES_CONTRACT = "monitoring_outcomes"
LATEST = "latest.json"
Say = Callable[[str], None]


def read_outcomes(path: str | Path) -> pd.DataFrame:
    """The outcomes file (.parquet or .csv), checked against `data_contracts/monitoring_outcomes.yaml`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"outcomes file {path}: not found (expected loan_id, defaulted, default_date[, realised_lgd])")
    contract = load_contract(OUTCOMES_CONTRACT)
    df = read_table(path, contract)
    violations = check_frame(df, contract)
    if violations:
        raise ContractViolation(violations)
    return df


def _model(version: str | None) -> tuple[Any, str, ReferenceProfile]:
    if version is None:
        version = registry.alias_version(PD_MODEL)
        if version is None:
            raise RegistryError(f"registry {mlflow.get_registry_uri()}: '{PD_MODEL}' has no champion to monitor "
                                "(train and promote one: `iprisk train --data DIR`, or pass --model-version)")
    wrapper, version = registry.load_wrapper(PD_MODEL, version)
    return wrapper, version, load_reference_profile(PD_MODEL, version)


def _window_doc(name: str, t: Tally, per_version: dict[str, Tally], ref: ReferenceProfile, cfg: MonitoringConfig) -> dict[str, Any]:
    csi = {f: stability_index(ref.features[f].shares, c) for f, c in t.features.items()}
    csi = {f: v for f, v in csi.items() if v == v}
    top = sorted(csi.items(), key=lambda kv: -kv[1])[: cfg.top_features]

    def basics(x: Tally) -> dict[str, Any]:
        return {"decisions": x.n, "mean_pd": float(x.pd_sum / x.n) if x.n else None,
                "psi_score": stability_index(ref.score.shares, x.score) if x.n else None}

    return {"window": name, **basics(t), "shares": share_map(t.recommendations), "grades": share_map(t.grades),
            "grade_herfindahl": M.herfindahl(dict(t.grades)) if t.n else None, "csi": csi,
            "top_features": [{"feature": f, "csi": v} for f, v in top], "score_shares": (t.score / t.n).tolist(),
            "by_model_version": [{"model_version": v, **basics(x), "shares": share_map(x.recommendations)}
                                 for v, x in sorted(per_version.items())]}


def _backtest_rows(counter: LiveCounter, outcomes: pd.DataFrame, as_of: dt.date, cfg: MonitoringConfig) -> tuple[pd.DataFrame, int]:
    """Decisions joined with their outcomes (latest decision per loan), horizon passed; and how many are pending.

    Refuses outcome rows whose loan was not decided in the window, and defaults dated before origination."""
    live = counter.counts.outcomes.frame().drop_duplicates("loan_id", keep="last")
    unknown = sorted(set(outcomes["loan_id"]) - set(live["loan_id"]))
    if unknown:
        raise InputError(f"outcomes file: {len(unknown)} loan_id(s) were not decided in the audited window, e.g. "
                         f"{unknown[:5]}; give outcomes only for scored loans (loan.loan_id) or widen --since/--until")
    j = live.merge(outcomes, on="loan_id", how="inner")
    dd = pd.to_datetime(j["default_date"])
    early = j["defaulted"].astype(bool) & (dd < j["origination_date"])
    if early.any():
        bad = j.loc[early, ["loan_id", "default_date", "origination_date"]].head(5)
        raise InputError(f"outcomes file: monitoring_outcomes.default_date before the loan's origination_date for "
                         f"{int(early.sum())} loan(s), e.g. " + ", ".join(f"{r.loan_id} ({r.default_date:%Y-%m-%d} < "
                                                                         f"{r.origination_date:%Y-%m-%d})" for r in bad.itertuples()))
    due = j["origination_date"] + pd.DateOffset(months=cfg.horizon_months) <= pd.Timestamp(as_of)
    return j[due].reset_index(drop=True), int((~due).sum())


def monitor(*, since: str | None = None, until: str | None = None, window: str = "month", outcomes: str | Path | None = None,
            as_of: dt.date | None = None, audit_url: str | None = None, tracking_uri: str | None = None,
            out_dir: str | Path | None = None, model_version: str | None = None, retrain_with: str | Path | None = None,
            progress: Say | None = None) -> dict[str, Any]:
    """Run the monitoring job; returns the JSON-ready summary (`verdict`, `exit_code`, `windows`, …)."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    cfg = load_monitoring_config()
    win: Window = check_window(window)
    lo, hi = bound(since, "--since"), bound(until, "--until")
    if lo and hi and lo >= hi:
        raise InputError(f"monitor: --since {since} is not before --until {until}")
    audit = audit_url or load_config().audit_target
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    outcome_frame = read_outcomes(outcomes) if outcomes else None
    if retrain_with is not None and not Path(retrain_with).is_dir():
        raise InputError(f"--retrain-with {retrain_with}: not a folder (expected a loan book: firms/patents/loans/pledges/outcomes)")

    T.connect(tracking_uri, create_experiment=False)
    say("loading the PD model and its reference profile")
    wrapper, version, ref = _model(model_version)
    counter = LiveCounter(ref, wrapper.feature_builder, list(wrapper.pd_model.feature_names_), win,
                          set(outcome_frame["loan_id"]) if outcome_frame is not None else None)
    say(f"reading decisions from {audit.split('@')[-1]}")
    slices = decision_slices(audit, endpoints=DECISION_ENDPOINTS, since=lo, until=hi, chunk_rows=cfg.chunk_rows,
                             output_fields=OUTPUT_FIELDS)
    count_chunks(counter, slices,
                 cfg.workers, lambda: say(f"{counter.counts.records:,} records read"))
    tallies = counter.counts.tallies
    if not tallies:
        raise InputError(f"audit store {audit.split('@')[-1]}: no scored decisions recorded in [{lo or 'start'}, {hi or 'now'})"
                         f"{' (' + str(counter.counts.records) + ' record(s) unusable)' if counter.counts.records else ''}; "
                         "score applications first or widen --since/--until")

    scale = load_section("master_scale", MasterScale)
    order = [*scale.grade_labels, scale.default_label]
    windows: list[dict[str, Any]] = []
    for name in sorted({w for w, _ in tallies}):
        per_version = {v: t for (w, v), t in tallies.items() if w == name}
        total = Tally()
        for t in per_version.values():
            total.add(t)
        windows.append(_window_doc(name, total, per_version, ref, cfg))

    bt_doc, cal = None, None
    if outcome_frame is not None:
        say("back-testing decisions whose horizon has passed")
        rows, pending = _backtest_rows(counter, outcome_frame, as_of, cfg)
        y = rows["defaulted"].astype(bool).to_numpy().astype(int)
        real = rows["realised_lgd"].to_numpy(float) if "realised_lgd" in rows else None
        per_window = {w: backtest(y[g.index], rows.loc[g.index, "pd"].to_numpy(), rows.loc[g.index, "grade"].to_numpy(),
                                  rows.loc[g.index, "lgd"].to_numpy(), None if real is None else real[g.index], order)
                      for w, g in rows.groupby("window")}
        bt_doc = {"as_of": as_of.isoformat(), "horizon_months": cfg.horizon_months, "pending": pending,
                  "overall": backtest(y, rows["pd"].to_numpy(), rows["grade"].to_numpy(), rows["lgd"].to_numpy(), real, order),
                  "windows": per_window}
        if len(y) and 0 < y.sum() < len(y):
            cal = calibration_table(y, rows["pd"].to_numpy())
    for w in windows:
        judged = w["decisions"] >= cfg.min_window_decisions
        breaches = window_breaches(w["psi_score"], w["csi"], (bt_doc or {}).get("windows", {}).get(w["window"]),
                                   ref.validation | {"rows": ref.rows}, cfg) if judged else []
        w |= {"judged": judged, "breaches": [b.as_dict() for b in breaches],
              "verdict": verdict_of(breaches) if judged else "stable",
              "note": "" if judged else f"fewer than monitoring.min_window_decisions={cfg.min_window_decisions} decisions: not judged"}
    judged = [w for w in windows if w["judged"]]
    if not judged:
        raise InputError(f"monitor: no window holds monitoring.min_window_decisions={cfg.min_window_decisions} decisions "
                         f"({', '.join(str(w['window']) + ': ' + str(w['decisions']) for w in windows)}); use a longer --window or "
                         "lower the setting")
    verdict = overall([w["verdict"] for w in judged])
    summary: dict[str, Any] = {
        "verdict": verdict, "exit_code": EXIT_CODES[verdict], "model": PD_MODEL, "model_version": version,
        "audit_store": audit.split("@")[-1], "since": lo, "until": hi, "window": win,
        "decisions": int(sum(w["decisions"] for w in windows)), "records_read": counter.counts.records,
        "skipped": dict(counter.counts.skipped), "thresholds": asdict(cfg), "reference": {
            "rows": ref.rows, "score_edges": list(ref.score.edges), "score_shares": list(ref.score.shares),
            "grades": ref.grades, "recommendations": ref.recommendations, "validation": ref.validation},
        "windows": windows, "backtest": bt_doc,
    }

    say("drawing the report")
    worst = max(judged, key=lambda w: (w["psi_score"] or 0) + sum(w["csi"].values()))
    images = {
        "score distribution": MR.score_plot(ref.score.edges, ref.score.shares, {w["window"]: w["score_shares"] for w in windows[-6:]}),
        f"stability per feature ({worst['window']})": MR.stability_plot(worst["csi"], f"Feature stability, {worst['window']}",
                                                                         cfg.csi_watch, cfg.csi_act),
        "grade mix by window": MR.grade_mix_plot(order, ref.grades, {w["window"]: w["grades"] for w in windows[-8:]}),
    }
    if cal is not None:
        images["back-test calibration"] = MR.calibration_plot(cal)

    run_id = _log_run(summary, images, cfg, tracking_uri)
    summary["mlflow_run_id"] = run_id
    if retrain_with is not None and verdict == "act":
        summary["retraining"] = _retrain(retrain_with, run_id, say)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    summary |= _write(summary, images, Path(out_dir) if out_dir else cfg.output_path / f"run-{time.strftime('%Y%m%d-%H%M%S')}", cfg)
    return summary


def _log_run(summary: dict[str, Any], images: dict[str, bytes], cfg: MonitoringConfig, tracking_uri: str | None) -> str:
    """One MLflow run under the monitoring experiment: per-window metrics (step = window index), tags, the plots."""
    T.connect(tracking_uri, create_experiment=False)
    exp = mlflow.get_experiment_by_name(cfg.experiment)
    uri = mlflow.get_tracking_uri()
    exp_id = exp.experiment_id if exp else mlflow.create_experiment(
        cfg.experiment, artifact_location=T.artifact_root() if uri.startswith("sqlite:") else None)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"monitor-{summary['windows'][0]['window']}-{summary['windows'][-1]['window']}") as run:
        mlflow.set_tags({"iprisk.kind": "monitoring", "pd_model.version": summary["model_version"], "verdict": summary["verdict"],
                         "audit_store": summary["audit_store"]})
        for i, w in enumerate(summary["windows"]):
            m = {"decisions": w["decisions"], "mean_pd": w["mean_pd"], "psi_score": w["psi_score"],
                 "grade_herfindahl": w["grade_herfindahl"], "max_csi": max(w["csi"].values(), default=np.nan),
                 **{f"share_{k}": v for k, v in w["shares"].items()}}
            mlflow.log_metrics({k: float(v) for k, v in m.items() if v is not None and np.isfinite(v)}, step=i)
        bt = (summary.get("backtest") or {}).get("overall") or {}
        mlflow.log_metrics({f"backtest.{k}": float(v) for k, v in bt.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)})
        mlflow.log_dict(_jsonable(summary), "monitoring_summary.json")
        for cap, png in images.items():
            mlflow.log_image(_image(png), f"plots/{_slug(cap)}.png")
        return run.info.run_id


def _jsonable(doc: Any) -> Any:
    return json.loads(R.to_json(doc))


def _image(png: bytes) -> Any:
    return Image.open(io.BytesIO(png))


def _slug(cap: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in cap.lower()).strip("_")


def _retrain(book: str | Path, monitoring_run: str, say: Say) -> dict[str, Any]:
    """Train on `book` (the promotion gate decides what becomes champion); link both runs."""
    say(f"verdict 'act': retraining on {book}")
    result = train_book(book, progress=say)
    client = MlflowClient()
    client.set_tag(monitoring_run, "iprisk.retrain_run_id", result["run_id"])
    client.set_tag(result["run_id"], "iprisk.monitoring_run_id", monitoring_run)
    return {"run_id": result["run_id"], "registered_versions": result["registered_versions"], "gate": result["gate"]}


def _write(summary: dict[str, Any], images: dict[str, bytes], out: Path, cfg: MonitoringConfig) -> dict[str, str]:
    """The report folder (HTML with plots, JSON summary) and `latest.json` for the page, atomically."""
    paths = {"report": str(out / "monitoring_report.html"), "summary_json": str(out / "monitoring_summary.json")}
    for cap, png in images.items():
        R.atomic_write(out / "plots" / f"{_slug(cap)}.png", png)
    R.atomic_write(out / "monitoring_report.html", R.render_html("iprisk monitoring report", MR.sections(summary, images)))
    R.atomic_write(out / "monitoring_summary.json", R.to_json(summary | paths))
    latest = summary | paths | {"plots": {cap: base64.b64encode(png).decode() for cap, png in images.items()}}
    R.atomic_write(cfg.output_path / LATEST, R.to_json(latest))
    return paths


def latest_summary(cfg: MonitoringConfig | None = None) -> dict[str, Any] | None:
    """The last monitoring run's summary with its plots (base64 PNG), or None before the first run."""
    path = (cfg or load_monitoring_config()).output_path / LATEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InputError(f"monitoring summary {path}: cannot be read ({e}); run `iprisk monitor` again") from e
