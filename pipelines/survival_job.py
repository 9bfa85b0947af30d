"""The patent survival job behind `iprisk patents train-survival`: read the CNIPA table with its
contract, cut the survival sample, compare the survival model with the expert value score and its
calibrated variant on the same folds, fit on all rows, evaluate on a separate test file, write the
report, log to MLflow, register ``iprisk-patent-survival`` and run the promotion gate.

    train_survival("…/cn_invention_patents_1999_2002.csv", "data_contracts/cnipa_patents.yaml", cv=5)

`load_lapse_data`, `cross_validate` and `holdout` compute without I/O beyond reading the file, so the
bench (bench/bench_survival.py) prints the same figures without touching MLflow.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from data_contracts import Contract, InputError, ModelError, load_contract
from data_contracts.frames import coerce_frame
from data_contracts.validate import check_frame, raise_on
from models.collateral import CollateralScoreConfig, patent_value_scores
from models.patent_lapse import (
    VALUE_INDICATORS_MISSING,
    LapseSampleConfig,
    grant_indicators,
    lapse_sample,
    value_indicators,
)
from models.survival import (
    PatentSurvivalModel,
    SurvivalConfig,
    calibration_table,
    harrell_c,
    kfold_indices,
    risk_bands,
    uno_c,
)
from models.value_calibration import (
    CalibratedValueWeights,
    calibrated_value_scores,
    direction_check,
    fit_calibrated_weights,
)
from pipelines import tracking
from pipelines.promotion import GateConfig
from pipelines.pyfunc_models import PatentSurvivalPyfunc
from pipelines.registers.cnipa import CnipaReadConfig, read_cnipa
from pipelines.report import figure_png, write_report
from pipelines.training.gate import register_and_gate
from pipelines.training.provenance import fingerprint, pip_requirements

MODEL_NAME = "iprisk-patent-survival"
Progress = Callable[[str], None] | None

SURVIVAL_PACKAGES = ("mlflow", "scikit-survival", "scikit-learn", "pandas", "numpy", "scipy", "pyarrow", "pyyaml", "pydantic")
"""Packages a logged survival model records with their exact versions."""


@dataclass(frozen=True)
class SurvivalTrainConfig:
    """Settings of the survival job (settings section ``patent_survival``).

    - ``model``: `SurvivalConfig` (model kind and hyper-parameters).
    - ``sample``: `LapseSampleConfig` (snapshot date, statutory term).
    - ``reader``: `CnipaReadConfig` (share of bad rows quarantined before the run stops).
    - ``horizons_years``: horizons reported and calibrated (3, 5, 8 years).
    - ``risk_bands``: risk bands of the calibration table (4: quartiles of the risk score).
    - ``cv_seed``: seed of the K folds (0): every score is compared on the same folds.
    - ``value_ridge``: ridge penalty of the calibrated value weights (0.01).
    - ``min_c_index_gain``: a challenger must beat the champion's Harrell C on the same rows by
      at least this much to be promoted (0.005).
    - ``model_name``: registered model name.
    """

    model: SurvivalConfig = field(default_factory=SurvivalConfig)
    sample: LapseSampleConfig = field(default_factory=LapseSampleConfig)
    reader: CnipaReadConfig = field(default_factory=CnipaReadConfig)
    horizons_years: tuple[float, ...] = (3.0, 5.0, 8.0)
    risk_bands: int = 4
    cv_seed: int = 0
    value_ridge: float = 0.01
    min_c_index_gain: float = 0.005
    model_name: str = MODEL_NAME


@dataclass
class LapseData:
    """A CNIPA file read with its contract and cut into the survival sample."""

    path: Path
    contract: Contract
    table: pd.DataFrame
    rows_read: int
    rows_rejected: int
    time: np.ndarray
    event: np.ndarray
    X: pd.DataFrame  # survival indicators at grant
    V: pd.DataFrame  # expert value-score indicators at grant
    excluded: dict[str, int]

    @property
    def n(self) -> int:
        return len(self.time)

    @property
    def events(self) -> int:
        return int(self.event.sum())

    def summary(self) -> dict[str, Any]:
        return {"file": str(self.path), "rows_read": self.rows_read, "rows_rejected": self.rows_rejected,
                "applications": len(self.table), "n": self.n, "events": self.events, "censored": self.n - self.events,
                "excluded": self.excluded}


def load_lapse_data(path: str | Path, contract: Contract | str | Path = "cnipa_patents",
                    config: SurvivalTrainConfig | None = None) -> LapseData:
    """Read a CNIPA file (.csv as published, bad rows quarantined; or an ingested .parquet) with
    ``contract`` and build the survival sample and both indicator frames."""
    cfg = config or SurvivalTrainConfig()
    c = contract if isinstance(contract, Contract) else load_contract(contract)
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        if not p.is_file():
            raise InputError(f"file not found: {p}")
        table = coerce_frame(pd.read_parquet(p), c)
        raise_on(check_frame(table, c))
        rows_read, rejected = len(table), 0
    else:
        read = read_cnipa(p, c, cfg.reader)
        table, rows_read, rejected = read.table, read.rows_read, read.rows_rejected
    sample = lapse_sample(table, cfg.sample)
    if sample.n < 20 or sample.events < 5:
        raise ModelError(f"{p.name}: {sample.n} granted rights with {sample.events} lapses: too few to model survival")
    X = grant_indicators(table, sample.frame.index)
    V = value_indicators(table, sample.frame.index)
    return LapseData(p, c, table, rows_read, rejected, sample.frame["time_years"].to_numpy(float),
                     sample.frame["lapsed"].to_numpy(bool), X, V, sample.excluded)


def expert_scores(V: pd.DataFrame) -> np.ndarray:
    """The expert value score (default `CollateralScoreConfig`) of each right."""
    return patent_value_scores(V, CollateralScoreConfig())["value_score"].to_numpy(float)


def cross_validate(data: LapseData, k: int, config: SurvivalTrainConfig | None = None, progress: Progress = None) -> dict[str, Any]:
    """K folds, the same for every score: the survival model (Harrell's and Uno's C), the expert value
    score and the calibrated value score (weights fitted on the training folds), per fold and on
    average; the out-of-fold calibration table (bands: quantiles of the out-of-fold risk)."""
    cfg = config or SurvivalTrainConfig()
    folds = kfold_indices(data.n, k, cfg.cv_seed)
    t, e = data.time, data.event
    expert = expert_scores(data.V)
    oof_risk = np.zeros(data.n)
    oof_surv = np.zeros((data.n, len(cfg.horizons_years)))
    rows = []
    for i, (tr, te) in enumerate(folds, start=1):
        if progress:
            progress(f"fold {i}/{k}: fitting the survival model on {len(tr):,} rights")
        m = PatentSurvivalModel(cfg.model).fit(data.X.iloc[tr], t[tr], e[tr])
        risk = m.risk_score(data.X.iloc[te])
        oof_risk[te] = risk
        oof_surv[te] = m.predict_survival(data.X.iloc[te], cfg.horizons_years)
        w = fit_calibrated_weights(data.V.iloc[tr], t[tr], e[tr], ridge=cfg.value_ridge)
        cal = calibrated_value_scores(data.V.iloc[te], w).to_numpy()
        rows.append({
            "fold": i, "n": len(te), "events": int(e[te].sum()),
            "c_index": harrell_c(t[te], e[te], risk),
            "uno_c_index": uno_c(t[tr], e[tr], t[te], e[te], risk, cfg.model.tau_years),
            "expert_c_index": harrell_c(t[te], e[te], -expert[te]),
            "expert_uno_c_index": uno_c(t[tr], e[tr], t[te], e[te], -expert[te], cfg.model.tau_years),
            "calibrated_c_index": harrell_c(t[te], e[te], -cal),
        })
    folds_df = pd.DataFrame(rows)
    bands, _ = risk_bands(oof_risk, cfg.risk_bands)
    calib = calibration_table(t, e, oof_surv, cfg.horizons_years, bands)
    mean = {c: float(folds_df[c].mean()) for c in folds_df.columns if c.endswith("c_index")}
    std = {c: float(folds_df[c].std(ddof=1)) for c in folds_df.columns if c.endswith("c_index")}
    return {"k": k, "seed": cfg.cv_seed, "folds": folds_df, "mean": mean, "std": std,
            "c_index_gain_over_expert": mean["c_index"] - mean["expert_c_index"],
            "oof_c_index": harrell_c(t, e, oof_risk), "calibration": calib, "oof_risk": oof_risk}


def holdout(model: PatentSurvivalModel, weights: CalibratedValueWeights, train: LapseData, test: LapseData,
            config: SurvivalTrainConfig | None = None) -> dict[str, Any]:
    """The fitted model (and calibrated weights) on a separate file: concordance, calibration per
    risk band (bands: the training rights' risk quartiles)."""
    cfg = config or SurvivalTrainConfig()
    t, e = test.time, test.event
    risk = model.risk_score(test.X)
    surv = model.predict_survival(test.X, cfg.horizons_years)
    _, edges = risk_bands(model.risk_score(train.X), cfg.risk_bands)
    bands, _ = risk_bands(risk, cfg.risk_bands, edges)
    expert = expert_scores(test.V)
    cal = calibrated_value_scores(test.V, weights).to_numpy()
    return {
        **test.summary(),
        "c_index": harrell_c(t, e, risk),
        "uno_c_index": uno_c(train.time, train.event, t, e, risk, cfg.model.tau_years),
        "expert_c_index": harrell_c(t, e, -expert),
        "calibrated_c_index": harrell_c(t, e, -cal),
        "calibration": calibration_table(t, e, surv, cfg.horizons_years, bands),
        "risk": risk,
    }


# --------------------------------------------------------------------------------------------
# report, MLflow, registry
# --------------------------------------------------------------------------------------------
def _calibration_plot(calib: pd.DataFrame, title: str) -> bytes:
    hs = sorted(calib["horizon_years"].unique())
    fig, axes = plt.subplots(1, len(hs), figsize=(4.0 * len(hs), 3.8), squeeze=False)
    for ax, h in zip(axes[0], hs):
        g = calib[calib["horizon_years"] == h]
        ax.errorbar(g["predicted"], g["observed"], yerr=[g["observed"] - g["observed_low"], g["observed_high"] - g["observed"]],
                    fmt="o", ms=5, capsize=3)
        for _, r in g.iterrows():
            ax.annotate(f"band {int(r['band'])}", (r["predicted"], r["observed"]), fontsize=7, xytext=(4, -8), textcoords="offset points")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted survival", ylabel="observed (Kaplan–Meier, 95% CI)",
               title=f"{title}: {h:g} years")
    return figure_png(fig)


def _flat(prefix: str, obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in asdict(obj).items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                out[f"{prefix}.{k}.{k2}"] = v2
        else:
            out[f"{prefix}.{k}"] = v
    return out


def _gate(uri: str, name: str, tags: dict[str, str], challenger_risk: np.ndarray, gate_X: pd.DataFrame,
          gate_t: np.ndarray, gate_e: np.ndarray, rows: str, cfg: SurvivalTrainConfig) -> tuple[str, dict[str, Any]]:
    """Register the model and gate it on `rows` (the shared fail-safe gate: registry errors and a
    champion that cannot be loaded or re-scored stop the run and roll back)."""
    def champion(_kind: str, wrapper: Any) -> dict[str, float]:
        return {"c_index": harrell_c(gate_t, gate_e, wrapper.model.risk_score(gate_X))}

    versions, decisions = register_and_gate(
        {"survival": uri}, {"survival": name}, {**tags, "gate.rows": rows},
        {"survival.c_index": harrell_c(gate_t, gate_e, challenger_risk)}, champion,
        GateConfig(min_auc_gain=cfg.min_c_index_gain))
    return versions["survival"], {**asdict(decisions[0]), "rows": rows}


def train_survival(data: str | Path, contract: str | Path = "cnipa_patents", test: str | Path | None = None,
                   cv: int | None = None, out_dir: str | Path | None = None, progress: Progress = None,
                   promote: bool = True, config: SurvivalTrainConfig | None = None) -> dict[str, Any]:
    """The whole run (see the module docstring); returns the JSON-able summary the CLI prints."""
    cfg = config or SurvivalTrainConfig()
    t0 = time.perf_counter()
    step = progress or (lambda _m: None)
    step(f"reading {Path(data).name} with its contract")
    train = load_lapse_data(data, contract, cfg)
    tst = load_lapse_data(test, contract, cfg) if test is not None else None
    if tst is not None:
        overlap = train.X.index.intersection(tst.X.index)
        if len(overlap):
            raise InputError(f"--test {Path(test).name} shares {len(overlap)} application(s) with --data, e.g. {list(overlap[:3])}: "
                             "a test file must hold other patents")
    cvres = cross_validate(train, cv, cfg, step) if cv else None
    step(f"fitting the survival model on {train.n:,} rights ({train.events:,} lapses)")
    model = PatentSurvivalModel(cfg.model).fit(train.X, train.time, train.event)
    weights = fit_calibrated_weights(train.V, train.time, train.event, ridge=cfg.value_ridge, source=train.path.name)
    directions = direction_check(train.V, train.time, train.event, ridge=cfg.value_ridge, fitted=weights)
    train_risk = model.risk_score(train.X)
    expert_train = expert_scores(train.V)
    ho = holdout(model, weights, train, tst, cfg) if tst is not None else None

    # headline: out of sample when there is one
    if ho is not None:
        c_index, basis = ho["c_index"], "test"
    elif cvres is not None:
        c_index, basis = cvres["mean"]["c_index"], f"{cv}-fold cross-validation"
    else:
        c_index, basis = harrell_c(train.time, train.event, train_risk), "in-sample"
    metrics: dict[str, float] = {
        "c_index": c_index, "train_c_index": harrell_c(train.time, train.event, train_risk),
        "expert_c_index_all": harrell_c(train.time, train.event, -expert_train), "n": train.n, "events": train.events,
    }
    if cvres is not None:
        for key, v in cvres["mean"].items():
            metrics[f"cv.{key}"] = v
            metrics[f"cv.{key}_std"] = cvres["std"][key]
        metrics["cv.c_index_gain_over_expert"] = cvres["c_index_gain_over_expert"]
    if ho is not None:
        for key in ("c_index", "uno_c_index", "expert_c_index", "calibrated_c_index", "n", "events"):
            metrics[f"test.{key}"] = float(ho[key])
    calib = ho["calibration"] if ho is not None else (cvres["calibration"] if cvres is not None else None)
    if calib is not None:
        metrics["calibration_max_abs_error"] = float(calib["error"].abs().max())
        metrics["calibration_share_inside_ci"] = float(calib["inside"].mean())

    # report
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-survival-"))
    step("writing the report")
    sections: list[dict[str, Any]] = [{
        "title": "Data", "metrics": {**{k: v for k, v in train.summary().items() if k not in ("excluded", "file")},
                                     **{f"excluded: {k}": v for k, v in train.excluded.items()}},
        "text": f"{train.path.name}: granted rights, time from grant to lapse (termination) or the snapshot "
                f"{cfg.sample.snapshot_date} (censored).",
    }]
    if cvres is not None:
        sections.append({"title": f"{cv}-fold cross-validation (same folds for every score)",
                         "metrics": {**{f"mean {k}": v for k, v in cvres["mean"].items()},
                                     "gain over the expert score": cvres["c_index_gain_over_expert"]},
                         "tables": {"per fold": cvres["folds"], "out-of-fold calibration per risk band": cvres["calibration"]},
                         "images": {"out-of-fold calibration": _calibration_plot(cvres["calibration"], "out of fold")}})
    if ho is not None:
        sections.append({"title": f"Test file {tst.path.name}", "metrics": {k: ho[k] for k in ("n", "events", "c_index", "uno_c_index",
                                                                                                     "expert_c_index", "calibrated_c_index")},
                         "tables": {"calibration per risk band": ho["calibration"]},
                         "images": {"test calibration": _calibration_plot(ho["calibration"], "test")}})
    sections.append({"title": "Value score against revealed value (time in force)",
                     "text": "Expert score with the default CollateralScoreConfig; missing indicators: " + ", ".join(VALUE_INDICATORS_MISSING),
                     "tables": {"sub-scores: documented direction against the data": directions}})
    summary_doc = {"c_index": c_index, "c_index_basis": basis, **{k: v for k, v in metrics.items() if k != "c_index"}}
    report_html, report_json, _ = write_report(out / "report", "Patent survival model", sections, summary_doc)

    # MLflow
    step("logging to MLflow")
    experiment_id = tracking.connect()
    example = train.X.head(5).astype("float64")
    wrapper = PatentSurvivalPyfunc(model, cfg.horizons_years, {train.contract.table: train.contract.version}, weights)
    params = {"horizons": [float(h) for h in cfg.horizons_years], "elapsed_years": 0.0}
    signature = infer_signature(example, wrapper.predict(None, example), params=params)
    registered: dict[str, str] = {}
    gate: dict[str, Any] | None = None
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"patent-survival-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.set_tags({"iprisk.kind": "patent-survival", "data.path": str(train.path.resolve()),
                         "data.fingerprint": fingerprint(train.path), "contract": f"{train.contract.table} {train.contract.version}",
                         "c_index_basis": basis, **({"test.path": str(tst.path.resolve())} if tst is not None else {})})
        mlflow.log_params({**_flat("model", cfg.model), **_flat("sample", cfg.sample), "horizons": list(cfg.horizons_years),
                           "risk_bands": cfg.risk_bands, "cv": cv or 0, "cv_seed": cfg.cv_seed, "n_indicators": train.X.shape[1]})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_artifacts(str(out / "report"), "validation_report")
        mlflow.log_dict(weights.as_dict(), "calibrated_value_weights.json")
        info = mlflow.pyfunc.log_model(name="survival_model", python_model=wrapper, signature=signature,
                                       input_example=example, pip_requirements=pip_requirements(SURVIVAL_PACKAGES))
        run_id = run.info.run_id
        if promote:
            step(f"registering {cfg.model_name} and running the promotion gate")
            tags = {"iprisk.kind": "patent-survival", "run_id": run_id, "c_index_basis": basis}
            if ho is not None:
                on = (ho["risk"], tst.X, tst.time, tst.event, f"test file {tst.path.name}")
            elif cvres is not None:
                on = (cvres["oof_risk"], train.X, train.time, train.event, f"training rows, challenger out of fold ({cv} folds)")
            else:
                on = (train_risk, train.X, train.time, train.event, "training rows, in-sample")
            version, gate = _gate(info.model_uri, cfg.model_name, tags, *on, cfg)
            registered = {"survival": version}
    result: dict[str, Any] = {
        "kind": "patent-survival", "model": cfg.model.kind, "c_index": c_index, "c_index_basis": basis,
        "n": train.n, "events": train.events, "censored": train.n - train.events,
        "train_c_index": metrics["train_c_index"], "data": train.summary(),
        "run_id": run_id, "tracking_uri": mlflow.get_tracking_uri(),
        "registered_versions": {cfg.model_name: registered["survival"]} if registered else {},
        "registered_version": registered.get("survival"), "gate": gate,
        "calibrated_value_weights": dict(weights.weights),
        "value_score_directions": directions.to_dict(orient="records"),
        "report": str(report_html), "report_json": str(report_json), "seconds": round(time.perf_counter() - t0, 1),
    }
    if cvres is not None:
        result["cv"] = {"k": cv, "seed": cfg.cv_seed, "folds": cvres["folds"].to_dict(orient="records"),
                        "mean": cvres["mean"], "std": cvres["std"], "c_index_gain_over_expert": cvres["c_index_gain_over_expert"],
                        "calibration": cvres["calibration"].to_dict(orient="records")}
    if ho is not None:
        result["test"] = {k: v for k, v in ho.items() if k not in ("risk", "calibration")} | {
            "calibration": ho["calibration"].to_dict(orient="records")}
    return result
