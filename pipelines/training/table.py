"""Training the PD path on a user's own firm-level table: a short sequence of named steps.

validate against the contract → read → stratified hold-out → fit PD and scorecard → evaluate
(and cross-validate) → validation report → MLflow run → register and gate.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from data_contracts import Contract, load_contract
from data_contracts.errors import InputError
from models import metrics as M
from models.pd_model import PDModel
from models.scorecard import Scorecard
from pipelines import registry
from pipelines import report as R
from pipelines import tracking as T
from pipelines.pyfunc_models import PDPyfunc, ScorecardPyfunc
from pipelines.readers import read_table
from pipelines.training.book import ProgressFn
from pipelines.training.configs import load_training_settings
from pipelines.training.evaluation import grade_table, pd_metrics
from pipelines.training.gate import register_and_gate, table_champion_metrics
from pipelines.training.mlflow_run import log_training_run
from pipelines.training.provenance import fingerprint
from pipelines.training.report_sections import table_sections
from pipelines.training.splits import check_target
from pipelines.validation_job import validate_file


def target_of(contract: Contract, target: str | None) -> str:
    """The target column: the one given, else the contract's; refused when neither names a column."""
    target = target or contract.target
    if not target:
        raise InputError(f"{contract.table}: no target column given (--target) and the contract names none")
    if target not in contract.column_names:
        raise InputError(f"{contract.table}: target column '{target}' is not in the contract "
                         f"(columns: {', '.join(contract.column_names[:8])}, …)")
    return target


def features_and_target(df: pd.DataFrame, contract: Contract, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The contract's numeric feature columns as float64 (n, k) and the 0/1 target (n,)."""
    y = pd.to_numeric(df[target], errors="coerce")
    if y.isna().any():
        raise InputError(f"{contract.table}.{target}: {int(y.isna().sum())} row(s) have no target value")
    feats = [c.name for c in contract.feature_columns if c.name != target and c.type in ("integer", "number", "boolean")]
    return df[feats].astype("float64"), y.to_numpy().astype(int)


def train_table(
    data_file: str | Path,
    contract_path: str | Path,
    target: str | None = None,
    *,
    cv: int | None = None,
    out_dir: str | Path | None = None,
    tracking: str | None = None,
    progress: ProgressFn | None = None,
    promote: bool = True,
) -> dict[str, Any]:
    """Train the PD path (and the scorecard beside it) on a user's own firm-level table."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    contract: Contract = load_contract(contract_path)
    target = target_of(contract, target)
    s = load_training_settings()
    cfg = s.train
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-train-"))

    say(f"validating {Path(data_file).name} against contract '{contract.table}'")
    validation = validate_file(data_file, contract_path, out_dir / "data_validation")
    validation.raise_on_violations()
    experiment_id = T.connect(tracking)
    df = read_table(data_file, contract)
    X, y = features_and_target(df, contract, target)
    check_target(y, contract.table, target, 20)
    mono = {k: v for k, v in contract.risk_directions().items() if k in X.columns}

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=cfg.byod_test_share, stratify=y, random_state=cfg.seed)
    say(f"fitting the PD model on {len(X_tr):,} rows")
    pd_model = PDModel(s.pd_model, monotone_constraints=mono, random_state=cfg.seed).fit(X_tr, y_tr)
    say("fitting the WoE scorecard")
    scorecard = Scorecard(s.scorecard, monotone_constraints=mono).fit(X_tr, y_tr)
    p_te, sc_te = pd_model.predict_pd(X_te), scorecard.predict_pd(X_te)
    pd_m, jeffreys = pd_metrics(y_te, p_te, s.master_scale)
    sc_m, _ = pd_metrics(y_te, sc_te, s.master_scale)
    metrics = {f"pd.{k}": v for k, v in pd_m.items()} | {f"scorecard.{k}": v for k, v in sc_m.items()}
    result: dict[str, Any] = {"auc": metrics["pd.auc"], "scorecard_auc": metrics["scorecard.auc"]}
    if cv:
        say(f"{cv}-fold cross-validation")
        mean, std, folds = M.cross_validated_auc(lambda: PDModel(s.pd_model, monotone_constraints=mono, random_state=cfg.seed),
                                                 X, y, k=cv, seed=cfg.seed)
        sc_mean, sc_std, _ = M.cross_validated_auc(lambda: Scorecard(s.scorecard, monotone_constraints=mono), X, y, k=cv, seed=cfg.seed)
        metrics |= {"cv_auc_mean": mean, "cv_auc_std": std, "scorecard.cv_auc_mean": sc_mean, "scorecard.cv_auc_std": sc_std}
        result |= {"cv_auc_mean": mean, "cv_auc_std": std, "cv_auc_folds": list(map(float, folds)),
                   "scorecard_cv_auc_mean": sc_mean, "scorecard_cv_auc_std": sc_std}

    say("writing the validation report")
    sections = table_sections(contract.table, target, cfg.byod_test_share, y_te, p_te, sc_te, metrics, jeffreys,
                              grade_table(p_te, y_te, s.master_scale))
    html_path, json_path, _ = R.write_report(out_dir / "report", f"iprisk validation report — {contract.table}", sections,
                                             {"metrics": metrics})

    say("logging to MLflow")
    names = registry.byod_models(contract.table)
    versions_in = {contract.table: contract.version}
    run = log_training_run(
        experiment_id, contract.table,
        tags={"iprisk.kind": "byod", "data.path": str(Path(data_file).resolve()), "data.fingerprint": fingerprint(data_file),
              f"contract.{contract.table}": contract.version, "target": target},
        params={f"train.{k}": v for k, v in asdict(cfg).items()} | {"n_features": X.shape[1], "cv": cv or 0},
        metrics=metrics, report_dir=out_dir / "report", validation_json=validation.json_path,
        models={"pd": PDPyfunc(pd_model, None, versions_in), "scorecard": ScorecardPyfunc(scorecard, None, versions_in)},
        example=X_te.head(5),
    )

    versions: dict[str, str] = {}
    decisions = []
    if promote:
        say("registering and running the promotion gate")
        versions, decisions = register_and_gate(run.model_uris, names, {"run_id": run.run_id}, metrics,
                                                table_champion_metrics(X_te, y_te), s.gate)
    return result | {
        "kind": "byod", "table": contract.table, "target": target, "rows": int(len(df)), "defaults": int(y.sum()),
        "run_id": run.run_id, "tracking_uri": mlflow.get_tracking_uri(),
        "registered_versions": {names[k]: v for k, v in versions.items()},
        "gate": [asdict(d) for d in decisions], "metrics": metrics,
        "report": str(html_path), "report_json": str(json_path), "seconds": round(time.perf_counter() - t0, 1),
    }
