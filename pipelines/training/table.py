"""Training the PD path on a user's own firm-level table: a short sequence of named steps.

validate against the contract (and the test file against the same contract) → read → stratified
hold-out, or the whole file with `--test` → test the contract's risk directions and fit PD and
scorecard under the direction policy → evaluate (and cross-validate on one or more split seeds) →
validation report → MLflow run → register and gate.
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
from data_contracts.errors import ContractViolation, InputError
from models import metrics as M
from models.direction_evidence import describe_contradictions
from models.pd_model import PDModel
from models.scorecard import Scorecard
from pipelines import registry
from pipelines import report as R
from pipelines import tracking as T
from pipelines.pyfunc_models import PDPyfunc, ScorecardPyfunc
from pipelines.readers import read_raw, read_table
from pipelines.training.book import ProgressFn
from pipelines.training.configs import load_training_settings
from pipelines.training.evaluation import direction_metrics, evidence_records, grade_table, pd_metrics
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


def features_and_target(df: pd.DataFrame, contract: Contract, target: str, source: str = "") -> tuple[pd.DataFrame, np.ndarray]:
    """The contract's numeric feature columns as float64 (n, k) and the 0/1 target (n,).

    The target must hold 0/1 (or booleans, which the contract's type maps to 1/0); ``source``
    (a file name) leads any error message."""
    where = f"{source}: " if source else ""
    raw = df[target]
    y = pd.to_numeric(raw.astype("float64") if pd.api.types.is_bool_dtype(raw) else raw, errors="coerce")
    if y.isna().any():
        bad = raw[y.isna()]
        what = "no target value" if bad.isna().all() else f"a target that is not a number, e.g. {bad.dropna().unique()[:3].tolist()}"
        raise InputError(f"{where}{contract.table}.{target}: {int(y.isna().sum())} row(s) have {what} (rule 'target_0_1')")
    odd = ~y.isin((0, 1))
    if odd.any():
        raise InputError(f"{where}{contract.table}.{target}: rule 'target_0_1' broken by {int(odd.sum())} row(s); the target must be "
                         f"0 (no default) or 1 (default), e.g. {sorted(y[odd].unique().tolist())[:5]}; map other codes "
                         "before training or declare the column boolean in the contract")
    feats = [c.name for c in contract.feature_columns if c.name != target and c.type in ("integer", "number", "boolean")]
    return df[feats].astype("float64"), y.to_numpy().astype(int)


def check_columns(path: str | Path, contract: Contract, role: str) -> None:
    """The file's columns are the contract's, no more and no fewer (rule 'columns_match')."""
    have = [str(c) for c in read_raw(path, contract.source_format).columns]
    want = [c.source_name or c.name for c in contract.columns]
    missing, extra = [c for c in want if c not in set(have)], [c for c in have if c not in set(want)]
    if missing or extra:
        raise InputError(f"{role} file {Path(path).name}: columns do not match contract '{contract.table}' (rule 'columns_match'): "
                         f"missing {missing[:5]}{' …' if len(missing) > 5 else ''}, unexpected {extra[:5]}{' …' if len(extra) > 5 else ''}")


def checked_file(path: str | Path, contract: Contract, contract_path: str | Path, report_dir: Path, role: str) -> tuple[pd.DataFrame, Any]:
    """``path`` validated against the contract (violations name the file), read into its types; and its report."""
    name = Path(path).name
    check_columns(path, contract, role)
    validation = validate_file(path, contract_path, report_dir)
    try:
        validation.raise_on_violations()
    except ContractViolation as e:
        named = ContractViolation(e.violations)
        named.args = (f"{role} file {name} does not match contract '{contract.table}': {e}",)
        raise named from e
    return read_table(path, contract), validation


def cv_auc_over_seeds(make: Any, X: pd.DataFrame, y: np.ndarray, k: int, seeds: list[int]) -> dict[str, Any]:
    """K-fold CV AUC on each split seed (the model seeded like the split): mean of the seeds'
    means, the spread across every fold, and the per-seed figures."""
    per_seed, folds = {}, []
    for seed in seeds:
        mean, _, f = M.cross_validated_auc(lambda s=seed: make(s), X, y, k=k, seed=seed)
        per_seed[seed] = mean
        folds += f
    return {"mean": float(np.mean(list(per_seed.values()))), "std": float(np.std(folds)), "folds": list(map(float, folds)),
            "by_seed": {str(k_): float(v) for k_, v in per_seed.items()}}


def train_table(
    data_file: str | Path,
    contract_path: str | Path,
    target: str | None = None,
    *,
    cv: int | None = None,
    cv_seeds: list[int] | None = None,
    test_file: str | Path | None = None,
    out_dir: str | Path | None = None,
    tracking: str | None = None,
    progress: ProgressFn | None = None,
    promote: bool = True,
) -> dict[str, Any]:
    """Train the PD path (and the scorecard beside it) on a user's own firm-level table.

    ``test_file``: a separate file of the same contract (another year, another bank); the models
    learn from the whole ``data_file`` and are evaluated there (``test.*`` metrics, PSI of the score
    between the two files). ``cv_seeds``: split seeds of ``--cv`` (default: the train section's seed)."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    contract: Contract = load_contract(contract_path)
    target = target_of(contract, target)
    s = load_training_settings()
    cfg = s.train
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-train-"))
    data_name = Path(data_file).name

    say(f"validating {data_name} against contract '{contract.table}'")
    df, validation = checked_file(data_file, contract, contract_path, out_dir / "data_validation", "data")
    test_df = None
    if test_file is not None:
        say(f"validating the test file {Path(test_file).name} against the same contract")
        test_df, _ = checked_file(test_file, contract, contract_path, out_dir / "test_validation", "test")
    experiment_id = T.connect(tracking)
    X, y = features_and_target(df, contract, target, data_name)
    check_target(y, f"{data_name}: {contract.table}", target, 20)
    mono = {k: v for k, v in contract.risk_directions().items() if k in X.columns}

    if test_df is not None:
        X_tr, y_tr = X, y
        X_te, y_te = features_and_target(test_df, contract, target, Path(test_file).name)
        check_target(y_te, f"{Path(test_file).name}: {contract.table}", target, 1)
        eval_text = f"Test file: {Path(test_file).name} ({len(y_te):,} rows, {int(y_te.sum())} defaults); trained on all of {data_name}."
    else:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=cfg.byod_test_share, stratify=y, random_state=cfg.seed)
        eval_text = f"Hold-out: {cfg.byod_test_share:.0%} of {data_name}, stratified."
    pol = s.directions
    say(f"testing the contract's risk directions and fitting the PD model on {len(X_tr):,} rows (policy '{pol.policy}')")
    pd_model = PDModel(s.pd_model, monotone_constraints=mono, random_state=cfg.seed, direction_policy=pol).fit(X_tr, y_tr)
    evidence = pd_model.direction_evidence_
    say("fitting the WoE scorecard")
    scorecard = Scorecard(s.scorecard, monotone_constraints=mono, direction_policy=pol).fit(X_tr, y_tr)
    p_te, sc_te = pd_model.predict_pd(X_te), scorecard.predict_pd(X_te)
    pd_m, jeffreys = pd_metrics(y_te, p_te, s.master_scale)
    sc_m, _ = pd_metrics(y_te, sc_te, s.master_scale)
    metrics = {f"pd.{k}": v for k, v in pd_m.items()} | {f"scorecard.{k}": v for k, v in sc_m.items()}
    metrics |= direction_metrics(evidence)
    result: dict[str, Any] = {"auc": metrics["pd.auc"], "scorecard_auc": metrics["scorecard.auc"],
                              "direction_policy": pol.policy, "direction_evidence": evidence_records(evidence),
                              "contradictions": describe_contradictions(evidence, contract.table) if evidence is not None else []}
    if test_df is not None:
        metrics["pd.psi_score"] = M.psi(pd_model.predict_pd(X_tr), p_te, bins=cfg.psi_bins)
        metrics |= {f"test.{k}": v for k, v in pd_m.items()} | {"test.psi_score": metrics["pd.psi_score"]}
        metrics |= {f"test.scorecard.{k}": sc_m[k] for k in ("auc", "mean_pd", "mean_pd_in_interval", "jeffreys_pass_share")}
        result |= {"test": {k[5:]: v for k, v in metrics.items() if k.startswith("test.")}, "test_rows": int(len(y_te)),
                   "test_defaults": int(y_te.sum())}
    if cv:
        seeds = list(cv_seeds or [cfg.seed])
        say(f"{cv}-fold cross-validation on split seed(s) {', '.join(map(str, seeds))}")
        pdcv = cv_auc_over_seeds(lambda sd: PDModel(s.pd_model, monotone_constraints=mono, random_state=sd, direction_policy=pol),
                                 X, y, cv, seeds)
        sccv = cv_auc_over_seeds(lambda sd: Scorecard(s.scorecard, monotone_constraints=mono, direction_policy=pol), X, y, cv, seeds)
        metrics |= {"cv_auc_mean": pdcv["mean"], "cv_auc_std": pdcv["std"], "scorecard.cv_auc_mean": sccv["mean"],
                    "scorecard.cv_auc_std": sccv["std"]}
        metrics |= {f"cv_auc_seed_{k}": v for k, v in pdcv["by_seed"].items()}
        result |= {"cv_auc_mean": pdcv["mean"], "cv_auc_std": pdcv["std"], "cv_auc_folds": pdcv["folds"],
                   "cv_auc_by_seed": pdcv["by_seed"], "scorecard_cv_auc_mean": sccv["mean"], "scorecard_cv_auc_std": sccv["std"],
                   "scorecard_cv_auc_by_seed": sccv["by_seed"]}

    say("writing the validation report")
    sections = table_sections(contract.table, target, eval_text, y_te, p_te, sc_te, metrics, jeffreys,
                              grade_table(p_te, y_te, s.master_scale), evidence, pol.policy)
    html_path, json_path, _ = R.write_report(out_dir / "report", f"iprisk validation report — {contract.table}", sections,
                                             {"metrics": metrics, "direction_policy": pol.policy,
                                              "direction_evidence": result["direction_evidence"],
                                              "contradictions": result["contradictions"]})

    say("logging to MLflow")
    names = registry.byod_models(contract.table)
    versions_in = {contract.table: contract.version}
    tags = {"iprisk.kind": "byod", "data.path": str(Path(data_file).resolve()), "data.fingerprint": fingerprint(data_file),
            f"contract.{contract.table}": contract.version, "target": target, "directions.policy": pol.policy}
    tags |= {f"direction.{r['feature']}": r["verdict"] for r in result["direction_evidence"] if r["verdict"] in ("contradicted", "rejected")}
    if test_file is not None:
        tags |= {"test.path": str(Path(test_file).resolve()), "test.fingerprint": fingerprint(test_file)}
    run = log_training_run(
        experiment_id, contract.table,
        tags=tags,
        params={f"train.{k}": v for k, v in asdict(cfg).items()} | {"n_features": X.shape[1], "cv": cv or 0,
                                                                    "cv_seeds": ",".join(map(str, cv_seeds or [cfg.seed])),
                                                                    "directions.enforced": ",".join(sorted(pd_model.monotone_constraints_))[:500]},
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

