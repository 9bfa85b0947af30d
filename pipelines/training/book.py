"""Training on a loan book: a short sequence of named steps.

validate → read and build features → split out of time → fit PD, scorecard, recovery → evaluate
on the test year(s) → validation report → MLflow run → register and gate. Train on earlier
origination years, early-stop and calibrate on the latest training year, test on the latest
year(s); the gate compares challenger and champion on the same test rows.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from data_contracts import ModelError, core_contracts
from data_contracts.errors import InputError
from features import FeatureBuilder, feature_specs, monotone_constraints
from models import metrics as M
from models.calibration import intercept_shift
from models.direction_evidence import describe_contradictions
from models.pd_model import PDModel
from models.recovery import RecoveryModel
from models.scorecard import Scorecard
from models.scoring import recovery_feature_names
from pipelines import registry
from pipelines import report as R
from pipelines import tracking as T
from pipelines.monitoring.config import load_monitoring_config
from pipelines.monitoring.reference import book_reference, log_reference_profile
from pipelines.pyfunc_models import PDPyfunc, RecoveryPyfunc, ScorecardPyfunc
from pipelines.readers import read_book
from pipelines.training.configs import TrainingSettings, load_training_settings
from pipelines.training.evaluation import direction_metrics, evidence_records, grade_table, pd_metrics, psi_table
from pipelines.training.gate import book_champion_metrics, choose_pd_family, register_and_gate, role_metrics
from pipelines.training.lgd_targets import lgd_eval, recovery_frame
from pipelines.training.mlflow_run import log_training_run
from pipelines.training.provenance import fingerprint
from pipelines.training.report_sections import book_sections, direction_section
from pipelines.training.splits import check_target, subset_book, year_split
from pipelines.validation_job import ValidationReport, validate_book

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class BookData:
    """The book's tables and features, split out of time (boolean masks over `loans` rows)."""

    tables: dict[str, pd.DataFrame]
    loans: pd.DataFrame
    outcomes: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    test_years: list[int]
    builder: FeatureBuilder
    X: pd.DataFrame
    directions: dict[str, int]

    @property
    def fit_rows(self) -> np.ndarray:
        return self.train | self.valid


@dataclass(frozen=True)
class BookModels:
    pd_model: PDModel
    scorecard: Scorecard
    recovery: RecoveryModel


def read_and_split(data_dir: Path, s: TrainingSettings) -> BookData:
    """Read the book, split it by origination year, fit the feature builder on the fit years only."""
    tables = read_book(data_dir)
    if "outcomes" not in tables:
        raise InputError(f"loan book {data_dir}: outcomes.parquet is missing; training needs default outcomes")
    loans = tables["loans"].reset_index(drop=True)
    outcomes = tables["outcomes"].set_index("loan_id").reindex(loans["loan_id"])
    y = outcomes["defaulted"].astype(bool).to_numpy().astype(int)
    train, valid, test, test_years = year_split(loans, s.train)
    builder = FeatureBuilder(s.features).fit(subset_book(tables, pd.Index(loans.loc[train | valid, "loan_id"])))
    X = builder.transform(tables).reindex(loans["loan_id"])
    names = list(X.columns)
    check_target(y[train], "outcomes", "defaulted", 20)
    check_target(y[valid], "outcomes", "defaulted", 10)
    if y[test].sum() == 0:
        raise ModelError(f"outcomes.defaulted: no defaults in the test year(s) {test_years}; cannot evaluate out of time")
    return BookData(tables, loans, outcomes, y, train, valid, test, test_years, builder, X,
                    dict(zip(names, monotone_constraints(names))))


def fit_models(b: BookData, s: TrainingSettings, say: ProgressFn) -> BookModels:
    """PD (early-stopped and calibrated on the validation year), scorecard and recovery model."""
    X_tr, X_va = b.X[b.train], b.X[b.valid]
    say(f"fitting the PD model on {int(b.train.sum()):,} loans (early stopping on {int(b.valid.sum()):,})")
    pd_model = PDModel(s.pd_model, monotone_constraints=b.directions, random_state=s.train.seed,
                       direction_policy=s.directions).fit(X_tr, b.y[b.train], X_va, b.y[b.valid])
    say("fitting the WoE scorecard")
    scorecard = Scorecard(s.scorecard, monotone_constraints=b.directions, direction_policy=s.directions).fit(
        pd.concat([X_tr, X_va]), b.y[b.fit_rows])
    say("fitting the recovery model on defaulted loans")
    rec_cols = recovery_feature_names(list(b.X.columns), {sp.name: sp for sp in feature_specs()})
    rec = recovery_frame(b.loans, b.outcomes, b.X, b.fit_rows, rec_cols)
    recovery = RecoveryModel(s.recovery).fit(rec["X"], rec["sold"], rec["price_fraction"], rec["years"])
    return BookModels(pd_model, scorecard, recovery)


def evaluate(b: BookData, m: BookModels, s: TrainingSettings) -> dict[str, Any]:
    """Out-of-time figures: PD and scorecard metrics, Jeffreys per grade, PSI, oracle (demo book), LGD."""
    X_fit, X_te, y_te = b.X[b.fit_rows], b.X[b.test], b.y[b.test]
    p_te, sc_te = m.pd_model.predict_pd(X_te), m.scorecard.predict_pd(X_te)
    scale = s.master_scale
    pd_m, jeffreys = pd_metrics(y_te, p_te, scale)
    sc_m, _ = pd_metrics(y_te, sc_te, scale)
    metrics: dict[str, float] = {f"pd.{k}": v for k, v in pd_m.items()} | {f"scorecard.{k}": v for k, v in sc_m.items()}
    p_fit = m.pd_model.predict_pd(X_fit)
    metrics["pd.psi_score"] = M.psi(p_fit, p_te, bins=s.train.psi_bins)
    metrics["pd.train_auc"] = M.auc(b.y[b.fit_rows], p_fit)
    metrics["pd.best_iteration"] = float(getattr(m.pd_model, "best_iteration_", np.nan) or np.nan)
    metrics |= direction_metrics(m.pd_model.direction_evidence_)
    oracle = None
    if "ground_truth" in b.tables:
        gt = b.tables["ground_truth"].set_index("loan_id").reindex(b.loans["loan_id"])
        oracle = gt["true_pd"].to_numpy(float)[b.test]
        metrics["oracle.auc"] = M.auc(y_te, oracle)
        metrics["pd.auc_to_oracle"] = metrics["pd.auc"] / metrics["oracle.auc"]
        metrics["scorecard.auc_to_oracle"] = metrics["scorecard.auc"] / metrics["oracle.auc"]
    lgd = lgd_eval(m.recovery, b.loans, b.outcomes, b.X, b.test & (b.y == 1), s.discount_rate)
    metrics |= {f"recovery.{k}": v for k, v in lgd["metrics"].items()}
    return {"metrics": metrics, "p_te": p_te, "sc_te": sc_te, "jeffreys": jeffreys, "oracle": oracle, "lgd": lgd,
            "grades": grade_table(p_te, y_te, scale), "psi": psi_table(X_fit, X_te, s.train.psi_bins)}


def recalibrate(b: BookData, m: BookModels) -> tuple[BookModels, dict[str, Any]]:
    """Intercept shift of each PD candidate's log-odds, fitted on the latest labelled year (the
    test rows) so that its mean PD equals that year's default rate. Ranks (AUC) do not move; the
    test year's calibration in the large is then in-sample, which the run records."""
    X_te, y_te = b.X[b.test], b.y[b.test]
    shifts = {"lightgbm": intercept_shift(m.pd_model.log_odds(X_te), y_te),
              "scorecard": intercept_shift(m.scorecard.log_odds(X_te), y_te)}
    info = {"years": list(b.test_years), "rows": int(b.test.sum()), "default_rate": float(y_te.mean()), "shift": shifts}
    return BookModels(m.pd_model.with_intercept_shift(shifts["lightgbm"]), m.scorecard.with_intercept_shift(shifts["scorecard"]),
                      m.recovery), info


def train_book(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    tracking: str | None = None,
    progress: ProgressFn | None = None,
    promote: bool = True,
    validation: ValidationReport | None = None,
    recalibrate_latest_year: bool | None = None,
) -> dict[str, Any]:
    """Train, evaluate, log, register and gate the loan-book models. Returns a JSON-ready summary.

    The PD role goes to whichever family (LightGBM or the scorecard) passes the calibration checks
    with the highest AUC on the test year (`choose_pd_family`); it is registered as `iprisk-pd`.
    `recalibrate_latest_year` (None = the train section's setting): see `recalibrate`.

    `validation`: a passing `ValidationReport` of this very folder, when the caller has just made
    one (`iprisk run`), so the book is not validated twice."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"loan book: {data_dir} is not a folder (expected firms/patents/loans/pledges/outcomes .parquet)")
    s = load_training_settings()
    experiment_id = T.connect(tracking)  # fail fast when the registry is unreachable
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-train-"))

    if validation is None:
        say("validating the book against its contracts")
        validation = validate_book(data_dir, out_dir / "data_validation")
    validation.raise_on_violations()

    say("reading tables and building features")
    b = read_and_split(data_dir, s)
    m = fit_models(b, s, say)

    say("evaluating out of time")
    ev = evaluate(b, m, s)
    recal = None
    if s.train.recalibrate_latest_year if recalibrate_latest_year is None else recalibrate_latest_year:
        say(f"recalibrating the PD candidates' intercept on the latest labelled year {b.test_years}")
        before = {f: ev["metrics"][f"{p}mean_pd"] for f, p in (("lightgbm", "pd."), ("scorecard", "scorecard."))}
        m, recal = recalibrate(b, m)
        recal["mean_pd_before"] = before
        ev = evaluate(b, m, s)
    metrics = ev["metrics"]
    family, family_checks = choose_pd_family(metrics, s.gate)
    metrics |= role_metrics(metrics, family)
    if recal is not None:
        metrics |= {f"recalibration.shift.{f}": v for f, v in recal["shift"].items()}
        metrics |= {f"recalibration.mean_pd_before.{f}": v for f, v in recal["mean_pd_before"].items()}
    pd_est = m.pd_model if family == "lightgbm" else m.scorecard

    say("writing the validation report")
    y_te = b.y[b.test]
    evidence = m.pd_model.direction_evidence_
    contradictions = describe_contradictions(evidence) if evidence is not None else []
    sections = book_sections(y_te, ev["p_te"], ev["sc_te"], ev["oracle"], metrics, ev["jeffreys"], ev["grades"], ev["psi"],
                             ev["lgd"], validation, b.test_years)
    sections.append(direction_section(evidence, s.directions.policy, contradictions))
    rows = {"train": int(b.train.sum()), "validation": int(b.valid.sum()), "test": int(b.test.sum())}
    html_path, json_path, _ = R.write_report(out_dir / "report", "iprisk validation report — loan book", sections,
                                             {"test_years": b.test_years, "rows": rows, "metrics": metrics,
                                              "direction_policy": s.directions.policy,
                                              "direction_evidence": evidence_records(evidence), "contradictions": contradictions})

    say("logging to MLflow")
    contracts = {t: c.version for t, c in core_contracts().items()}
    data_fingerprint = fingerprint(data_dir)  # hashes every input file: once per run
    run = log_training_run(
        experiment_id, "book",
        tags={"iprisk.kind": "book", "data.path": str(data_dir.resolve()), "data.fingerprint": data_fingerprint,
              **{f"contract.{t}": v for t, v in contracts.items()}, "directions.policy": s.directions.policy,
              "pd.family": family, **{f"pd.candidate.{f}": why for f, why in family_checks.items()},
              "recalibration": "none" if recal is None else
              f"intercept shift fitted on years {recal['years']} (the test year: calibration in the large in-sample)",
              **{f"direction.{r['feature']}": r["verdict"] for r in evidence_records(evidence)
                 if r["verdict"] in ("contradicted", "rejected")}},
        params={f"train.{k}": v for k, v in asdict(s.train).items()} | {
            "pd.params": str(m.pd_model.get_params())[:500], "n_features": b.X.shape[1],
            "test_years": ",".join(map(str, b.test_years))},
        metrics=metrics, report_dir=out_dir / "report", validation_json=validation.json_path,
        models={"pd": PDPyfunc(pd_est, b.builder, contracts, family=family, recalibration=recal),
                "scorecard": ScorecardPyfunc(m.scorecard, b.builder, contracts),
                "recovery": RecoveryPyfunc(m.recovery, b.builder, contracts)},
        example=b.X[b.test].head(5).astype("float64"),
    )
    log_reference_profile(run.run_id, book_reference(b, m, metrics, load_monitoring_config().bins))  # for `iprisk monitor`

    versions: dict[str, str] = {}
    decisions = []
    if promote:
        say("registering and running the promotion gate")
        versions, decisions = register_and_gate(
            run.model_uris, registry.BOOK_MODELS, {"data.fingerprint": data_fingerprint, "run_id": run.run_id, "pd.family": family},
            metrics,
            book_champion_metrics(b.tables, b.test, y_te, b.loans, b.outcomes, s.discount_rate), s.gate,
        )
    return {
        "kind": "book",
        "run_id": run.run_id,
        "tracking_uri": mlflow.get_tracking_uri(),
        "registered_versions": {registry.BOOK_MODELS[k]: v for k, v in versions.items()},
        "gate": [asdict(d) for d in decisions],
        "auc": metrics["pd.auc"],
        "scorecard_auc": metrics["scorecard.auc"],
        "pd_family": family,
        "pd_candidates": family_checks,
        "recalibration": recal,
        "oracle_auc": metrics.get("oracle.auc"),
        "direction_policy": s.directions.policy,
        "direction_evidence": evidence_records(evidence),
        "contradictions": contradictions,
        "metrics": metrics,
        "report": str(html_path),
        "report_json": str(json_path),
        "seconds": round(time.perf_counter() - t0, 1),
    }
