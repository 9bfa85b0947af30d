"""Training jobs: the loan book (PD, scorecard, recovery) and a user's own firm-level table.

`train_book` validates the book with its contracts (stopping on failure), builds features, splits
out of time (train on earlier origination years, early-stop and calibrate on the latest training
year, test on the latest year(s)), fits every model, evaluates them, writes the validation report,
logs everything to MLflow, registers all models or none, and runs the promotion gate against the
champions on the same test rows. `train_table` does the same for a bring-your-own-data table.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import Contract, ModelError, core_contracts, load_contract
from data_contracts.errors import InputError, IpriskError

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """How training splits and evaluates.

    - ``test_years``: the latest origination years held out as the out-of-time test set.
    - ``validation_years``: the latest *training* years used for early stopping and calibration.
    - ``byod_test_share``: hold-out share for a table without dates (stratified, seeded).
    - ``seed``: every random choice (splits, LightGBM, CV folds).
    - ``psi_bins``: bins of the population-stability index.
    """

    test_years: int = 1
    validation_years: int = 1
    byod_test_share: float = 0.2
    seed: int = 7
    psi_bins: int = 10


def _settings():
    """The settings training uses (split, gate, grades, recovery model, discount rate)."""
    from models.decision import MasterScale
    from models.recovery import RecoveryConfig
    from pipelines.promotion import GateConfig
    from pipelines.settings import load_section, recovery_discount_rate

    return {
        "train": load_section("train", TrainConfig),
        "gate": load_section("gate", GateConfig),
        "master_scale": load_section("master_scale", MasterScale),
        "recovery": load_section("recovery", RecoveryConfig),
        "discount_rate": recovery_discount_rate(),
    }


# ------------------------------------------------------------------------------- provenance
def fingerprint(path: str | Path) -> str:
    """SHA-256 over the bytes of a file, or of every file in a folder (sorted by name)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file() and "validation" not in f.parts) if p.is_dir() else [p]
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """`git describe` of the source tree (with `-dirty`), or the package version outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import version

    return f"iprisk-{version('iprisk')}"


def pip_requirements() -> list[str]:
    """Exact pins of the packages a logged model needs, read from the installed environment."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "scipy", "optbinning", "pyarrow", "pyyaml", "pydantic"):
        try:
            out.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            pass
    return out


# ------------------------------------------------------------------------------- evaluation
def pd_metrics(y: np.ndarray, p: np.ndarray, scale, prefix: str = "") -> tuple[dict[str, float], pd.DataFrame]:
    """Discrimination and calibration of PDs `p` (n,) against defaults `y` (n,) on one test set.

    Returns (flat metrics, per-grade table with Jeffreys p-values)."""
    from models import metrics as M
    from models.decision import assign_grade

    grades = assign_grade(p, scale)
    jt = M.jeffreys_test(p, y, grades)
    _, lo, hi = M.default_rate_interval(y, 0.95)
    hl_stat, hl_p = M.hosmer_lemeshow(p, y)
    populated = jt[jt["n"] > 0]
    passed = (~populated["pd_too_low"].astype(bool)).mean() if len(populated) else float("nan")
    counts = pd.Series(grades).value_counts()
    m = {
        "auc": M.auc(y, p),
        "gini": M.gini(y, p),
        "ks": M.ks(y, p),
        "brier": M.brier(y, p),
        "mean_pd": float(np.mean(p)),
        "default_rate": float(np.mean(y)),
        "default_rate_lo95": lo,
        "default_rate_hi95": hi,
        "mean_pd_in_interval": float(lo <= np.mean(p) <= hi),
        "jeffreys_pass_share": float(passed),
        "hosmer_lemeshow_stat": hl_stat,
        "hosmer_lemeshow_p": hl_p,
        "grade_herfindahl": M.herfindahl(counts.values),
        "populated_grades": float(len(populated)),
    }
    order = [g for g in (*scale.grade_labels, scale.default_label) if g in jt.index]
    return {f"{prefix}{k}": float(v) for k, v in m.items()}, jt.reindex(order).reset_index()


def _grade_table(p: np.ndarray, y: np.ndarray, scale) -> pd.DataFrame:
    from models.decision import assign_grade

    labels = list(scale.grade_labels)
    g = pd.DataFrame({"grade": assign_grade(p, scale), "pd": p, "y": y})
    t = g.groupby("grade").agg(n=("y", "size"), defaults=("y", "sum"), mean_pd=("pd", "mean"), default_rate=("y", "mean"))
    t = t.reindex([lab for lab in labels if lab in t.index]).reset_index()
    t["share"] = t["n"] / t["n"].sum()
    return t


def psi_table(train: pd.DataFrame, test: pd.DataFrame, bins: int) -> pd.Series:
    from models import metrics as M

    out = {}
    for c in train.columns:
        a, b = train[c].to_numpy(float), test[c].to_numpy(float)
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if len(a) > 1 and len(b) > 1 and np.nanstd(a) > 0:
            out[c] = M.psi(a, b, bins=bins)
    return pd.Series(out, dtype=float).sort_values(ascending=False)


# ------------------------------------------------------------------------------- splitting
def year_split(loans: pd.DataFrame, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Masks (train, valid, test) over `loans` rows by origination year, and the test years."""
    years = pd.to_datetime(loans["origination_date"]).dt.year.to_numpy()
    uniq = sorted(set(years.tolist()))
    need = cfg.test_years + cfg.validation_years + 1
    if len(uniq) < need:
        raise InputError(
            f"loans.origination_date: out-of-time training needs at least {need} origination years "
            f"({cfg.test_years} test, {cfg.validation_years} validation, 1+ train); found {uniq}"
        )
    test_years = uniq[-cfg.test_years:]
    valid_years = uniq[-(cfg.test_years + cfg.validation_years): -cfg.test_years]
    test = np.isin(years, test_years)
    valid = np.isin(years, valid_years)
    return ~(test | valid), valid, test, test_years


def _subset_book(tables: Mapping[str, pd.DataFrame], loan_ids: pd.Index) -> dict[str, pd.DataFrame]:
    loans = tables["loans"][tables["loans"]["loan_id"].isin(loan_ids)]
    pledges = tables["pledges"][tables["pledges"]["loan_id"].isin(loan_ids)]
    patents = tables["patents"][tables["patents"]["patent_id"].isin(pledges["patent_id"])]
    firms = tables["firms"][tables["firms"]["firm_id"].isin(loans["firm_id"])]
    out = {"firms": firms, "patents": patents, "loans": loans, "pledges": pledges}
    for extra in ("outcomes", "ground_truth"):
        if extra in tables:
            out[extra] = tables[extra][tables[extra]["loan_id"].isin(loan_ids)]
    return out


def _check_target(y: np.ndarray, table: str, column: str, min_events: int) -> None:
    classes = np.unique(y[~pd.isna(y)])
    if len(classes) < 2:
        raise ModelError(f"{table}.{column}: the target has one class only ({classes.tolist()}); a PD model needs defaults and non-defaults")
    n_pos = int(np.sum(y == 1))
    if n_pos < min_events:
        raise ModelError(f"{table}.{column}: only {n_pos} default(s) in the training rows; at least {min_events} are needed to fit and calibrate")


# ------------------------------------------------------------------------------- the book
def train_book(
    data_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    tracking: str | None = None,
    progress: ProgressFn | None = None,
    promote: bool = True,
    validation: Any | None = None,
) -> dict[str, Any]:
    """Train, evaluate, log, register and gate the loan-book models. Returns a JSON-ready summary.

    `validation`: a passing `ValidationReport` of this very folder, when the caller has just made
    one (`iprisk run`), so the book is not validated twice."""
    import mlflow

    from features import FeatureBuilder, FeatureConfig, feature_specs, monotone_constraints
    from models import metrics as M
    from models.pd_model import PDModel
    from models.recovery import RecoveryModel
    from models.scorecard import Scorecard
    from pipelines import registry, report as R, tracking as T
    from pipelines.readers import read_book
    from pipelines.settings import load_section
    from pipelines.validation_job import validate_book

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"loan book: {data_dir} is not a folder (expected firms/patents/loans/pledges/outcomes .parquet)")
    s = _settings()
    cfg: TrainConfig = s["train"]
    experiment_id = T.connect(tracking)  # fail fast when the registry is unreachable
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-train-"))

    if validation is None:
        say("validating the book against its contracts")
        validation = validate_book(data_dir, out_dir / "data_validation")
    validation.raise_on_violations()

    say("reading tables and building features")
    tables = read_book(data_dir)
    if "outcomes" not in tables:
        raise InputError(f"loan book {data_dir}: outcomes.parquet is missing; training needs default outcomes")
    loans = tables["loans"].reset_index(drop=True)
    outcomes = tables["outcomes"].set_index("loan_id").reindex(loans["loan_id"])
    y_all = outcomes["defaulted"].astype(bool).to_numpy().astype(int)
    train_m, valid_m, test_m, test_years = year_split(loans, cfg)
    fit_ids = pd.Index(loans.loc[train_m | valid_m, "loan_id"])
    builder = FeatureBuilder(load_section("features", FeatureConfig)).fit(_subset_book(tables, fit_ids))
    X_all = builder.transform(tables).reindex(loans["loan_id"])
    names = list(X_all.columns)
    mono = dict(zip(names, monotone_constraints(names)))
    X_tr, X_va, X_te = X_all[train_m], X_all[valid_m], X_all[test_m]
    y_tr, y_va, y_te = y_all[train_m], y_all[valid_m], y_all[test_m]
    _check_target(y_tr, "outcomes", "defaulted", 20)
    _check_target(y_va, "outcomes", "defaulted", 10)
    if y_te.sum() == 0:
        raise ModelError(f"outcomes.defaulted: no defaults in the test year(s) {test_years}; cannot evaluate out of time")

    say(f"fitting the PD model on {int(train_m.sum()):,} loans (early stopping on {int(valid_m.sum()):,})")
    pd_model = PDModel(monotone_constraints=mono, random_state=cfg.seed).fit(X_tr, y_tr, X_va, y_va)
    say("fitting the WoE scorecard")
    scorecard = Scorecard(monotone_constraints=mono).fit(pd.concat([X_tr, X_va]), np.r_[y_tr, y_va])

    say("fitting the recovery model on defaulted loans")
    fit_rows = train_m | valid_m
    from models.scoring import recovery_feature_names

    rec_cols = recovery_feature_names(names, {sp.name: sp for sp in feature_specs()})
    rec = _recovery_frame(loans, outcomes, X_all, fit_rows, rec_cols)
    recovery = RecoveryModel(s["recovery"]).fit(rec["X"], rec["sold"], rec["price_fraction"], rec["years"])

    say("evaluating out of time")
    p_te = pd_model.predict_pd(X_te)
    sc_te = scorecard.predict_pd(X_te)
    scale = s["master_scale"]
    pd_m, jeffreys = pd_metrics(y_te, p_te, scale)
    sc_m, _ = pd_metrics(y_te, sc_te, scale)
    metrics: dict[str, float] = {f"pd.{k}": v for k, v in pd_m.items()} | {f"scorecard.{k}": v for k, v in sc_m.items()}
    p_tr_all = pd_model.predict_pd(pd.concat([X_tr, X_va]))
    metrics["pd.psi_score"] = M.psi(p_tr_all, p_te, bins=cfg.psi_bins)
    metrics["pd.train_auc"] = M.auc(np.r_[y_tr, y_va], p_tr_all)
    metrics["pd.best_iteration"] = float(getattr(pd_model, "best_iteration_", np.nan) or np.nan)
    psi = psi_table(pd.concat([X_tr, X_va]), X_te, cfg.psi_bins)
    oracle = None
    if "ground_truth" in tables:
        gt = tables["ground_truth"].set_index("loan_id").reindex(loans["loan_id"])
        oracle = gt["true_pd"].to_numpy(float)[test_m]
        metrics["oracle.auc"] = M.auc(y_te, oracle)
        metrics["pd.auc_to_oracle"] = metrics["pd.auc"] / metrics["oracle.auc"]
        metrics["scorecard.auc_to_oracle"] = metrics["scorecard.auc"] / metrics["oracle.auc"]
    te_def = test_m & (y_all == 1)
    lgd_eval = _lgd_eval(recovery, loans, outcomes, X_all, te_def, s["discount_rate"])
    metrics |= {f"recovery.{k}": v for k, v in lgd_eval["metrics"].items()}

    say("writing the validation report")
    sections = _book_sections(y_te, p_te, sc_te, oracle, metrics, jeffreys, _grade_table(p_te, y_te, scale), psi, lgd_eval, validation, test_years)
    summary = {"test_years": test_years, "rows": {"train": int(train_m.sum()), "validation": int(valid_m.sum()), "test": int(test_m.sum())}, "metrics": metrics}
    html_path, json_path, plots = R.write_report(out_dir / "report", "iprisk validation report — loan book", sections, summary)

    say("logging to MLflow")
    contract_versions = {t: c.version for t, c in core_contracts().items()}
    example = X_te.head(5).astype("float64")
    data_fingerprint = fingerprint(data_dir)  # hashes every input file: once per run
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"book-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.set_tags({
            "iprisk.kind": "book", "data.path": str(data_dir.resolve()), "data.fingerprint": data_fingerprint,
            "code.version": code_version(), **{f"contract.{t}": v for t, v in contract_versions.items()},
        })
        mlflow.log_params({f"train.{k}": v for k, v in asdict(cfg).items()} | {
            "pd.params": str(pd_model.get_params())[:500], "n_features": len(names), "test_years": ",".join(map(str, test_years)),
        })
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_artifacts(str(out_dir / "report"), "validation_report")
        if validation.json_path:
            mlflow.log_artifact(str(validation.json_path), "data_validation")
        from pipelines.pyfunc_models import PDPyfunc, RecoveryPyfunc, ScorecardPyfunc

        uris = _log_models(mlflow, {
            "pd": PDPyfunc(pd_model, builder, contract_versions),
            "scorecard": ScorecardPyfunc(scorecard, builder, contract_versions),
            "recovery": RecoveryPyfunc(recovery, builder, contract_versions),
        }, example)
        run_id = run.info.run_id

    versions: dict[str, str] = {}
    decisions = []
    if promote:
        say("registering and running the promotion gate")
        versions, decisions = _register_and_gate(
            uris, registry.BOOK_MODELS, {"data.fingerprint": data_fingerprint, "run_id": run_id}, metrics,
            _book_champion_metrics(tables, test_m, y_te, loans, outcomes, s["discount_rate"]), s["gate"],
        )
    return {
        "kind": "book",
        "run_id": run_id,
        "tracking_uri": mlflow.get_tracking_uri(),
        "registered_versions": {registry.BOOK_MODELS[k]: v for k, v in versions.items()},
        "gate": [asdict(d) for d in decisions],
        "auc": metrics["pd.auc"],
        "scorecard_auc": metrics["scorecard.auc"],
        "oracle_auc": metrics.get("oracle.auc"),
        "metrics": metrics,
        "report": str(html_path),
        "report_json": str(json_path),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _recovery_frame(loans: pd.DataFrame, outcomes: pd.DataFrame, X_all: pd.DataFrame, rows: np.ndarray, columns: list[str]) -> dict[str, Any]:
    """Disposal outcomes of defaulted loans in `rows`: collateral features, sold flag, price / appraised value, years."""
    d = rows & outcomes["defaulted"].astype(bool).to_numpy()
    o = outcomes[d]
    X = X_all.loc[d, columns]
    value = X_all.loc[d, "total_appraised_value"].to_numpy(float)
    price = o["sale_price"].to_numpy(float)
    frac = np.where(value > 0, price / np.where(value > 0, value, 1.0), 0.0)
    years = (pd.to_datetime(o["recovery_date"]) - pd.to_datetime(o["default_date"])).dt.days.to_numpy(float) / 365.25
    return {"X": X, "sold": o["patents_sold"].astype(bool).to_numpy(), "price_fraction": frac, "years": years}


def _lgd_eval(recovery, loans, outcomes, X_all, rows, discount_rate) -> dict[str, Any]:
    """Expected against realised LGD on the defaulted loans in `rows`: error, bias, correlation."""
    if rows.sum() == 0:
        return {"metrics": {}, "realised": np.array([]), "expected": np.array([])}
    L = loans[rows]
    exp = recovery.expected_lgd(
        X_all.loc[rows, list(recovery.feature_names_in_)], L["amount"].to_numpy(float), X_all.loc[rows, "total_appraised_value"].to_numpy(float),
        L["guarantee_share"].to_numpy(float), L["insurance_share"].to_numpy(float), L["compensation_share"].to_numpy(float), discount_rate,
    )
    real = outcomes[rows]["realised_lgd"].to_numpy(float)
    return {
        "metrics": {
            "lgd_mae": float(np.mean(np.abs(exp - real))),
            "lgd_rmse": float(np.sqrt(np.mean((exp - real) ** 2))),
            "lgd_bias": float(np.mean(exp - real)),
            "mean_expected_lgd": float(np.mean(exp)),
            "mean_realised_lgd": float(np.mean(real)),
            "lgd_corr": float(np.corrcoef(exp, real)[0, 1]) if len(real) > 2 else float("nan"),
            "n_defaulted_test": float(len(real)),
        },
        "realised": real,
        "expected": exp,
    }


def _book_sections(y, p, sc, oracle, metrics, jeffreys, grades, psi, lgd_eval, validation, test_years):
    from pipelines import report as R

    def pick(prefix):
        return {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}

    side = pd.DataFrame([
        {"model": "LightGBM PD (champion candidate)", **{k: metrics.get(f"pd.{k}") for k in ("auc", "gini", "ks", "brier", "mean_pd", "jeffreys_pass_share", "hosmer_lemeshow_p")}},
        {"model": "WoE scorecard", **{k: metrics.get(f"scorecard.{k}") for k in ("auc", "gini", "ks", "brier", "mean_pd", "jeffreys_pass_share", "hosmer_lemeshow_p")}},
    ])
    secs = [
        {"title": "Data", "text": f"Out-of-time test on origination year(s) {test_years}. Data validation: "
                                  f"{'passed' if validation.success else 'FAILED'}; Data Docs at {validation.html_path}.",
         "metrics": {k: v for k, v in metrics.items() if k.startswith("oracle.")}},
        {"title": "PD model — discrimination and calibration", "metrics": pick("pd."),
         "images": {"ROC": R.roc_plot(y, {"LightGBM PD": p, "scorecard": sc}, oracle), "Calibration": R.calibration_plot(y, {"LightGBM PD": p, "scorecard": sc})}},
        {"title": "Scorecard beside LightGBM", "tables": {"Side by side (test rows)": side}, "metrics": pick("scorecard.")},
        {"title": "Calibration per grade (Jeffreys test)", "text": "p = BetaCDF(mean PD; D+½, N−D+½); flagged when p < 5% (PD too low).",
         "tables": {"Jeffreys per grade": jeffreys, "Grade distribution": grades}, "images": {"Grades": R.grade_plot(grades)}},
        {"title": "Population stability (train → test)", "metrics": {"PSI of the score": metrics.get("pd.psi_score")},
         "tables": {"PSI per feature (largest 20)": psi.head(20).rename("psi").reset_index().rename(columns={"index": "feature"})},
         "images": {"PSI": R.psi_plot(psi)} if len(psi) else {}},
        {"title": "Recovery and LGD", "metrics": pick("recovery."),
         "images": {"LGD calibration": R.lgd_plot(lgd_eval["realised"], lgd_eval["expected"])} if len(lgd_eval["realised"]) else {}},
    ]
    return secs


def _log_models(mlflow, wrappers: Mapping[str, Any], example: pd.DataFrame) -> dict[str, str]:
    """Log each pyfunc wrapper (kind → wrapper) in the active run with a signature and an input
    example; returns kind → logged-model URI."""
    from mlflow.models import infer_signature

    reqs = pip_requirements()
    out = {}
    for kind, wrapper in wrappers.items():
        info = mlflow.pyfunc.log_model(
            name=f"{kind}_model", python_model=wrapper, signature=infer_signature(example, wrapper.predict(None, example)),
            input_example=example, pip_requirements=reqs,
        )
        out[kind] = info.model_uri
    return out


def _register_and_gate(uris: Mapping[str, str], names: Mapping[str, str], tags: Mapping[str, str], metrics: Mapping[str, float],
                       champion_metrics: Callable[[str, Any], dict[str, float]], gate) -> tuple[dict[str, str], list]:
    """Register every logged model (all or none), then gate each against its champion.

    `champion_metrics(kind, champion_wrapper)` scores the champion on the challenger's own test
    rows. A failure anywhere deletes the versions this run created."""
    from pipelines import registry
    from pipelines.promotion import decide

    versions = registry.register_all(uris, names, tags)
    decisions = []
    try:
        for kind, version in versions.items():
            name = names[kind]
            champ_v = registry.alias_version(name)
            champ = None
            if champ_v is not None and champ_v != version:
                champ = champion_metrics(kind, registry.load_wrapper(name, champ_v)[0])
            if kind == "recovery":
                d = decide(name, version, {"lgd_mae": metrics.get("recovery.lgd_mae")}, champ, champ_v, gate,
                           metric="lgd_mae", higher_is_better=False, check_calibration=False)
            else:
                pre = "pd." if kind == "pd" else "scorecard."
                chal = {k: metrics[pre + k] for k in ("auc", "jeffreys_pass_share", "mean_pd_in_interval")}
                d = decide(name, version, chal, champ, champ_v, gate, check_calibration=(kind == "pd"))
            registry.apply_gate(d, name)
            decisions.append(d)
    except Exception:
        registry.rollback({names[k]: v for k, v in versions.items()})
        raise
    return versions, decisions


def _book_champion_metrics(tables, test_m, y_te, loans, outcomes, discount_rate) -> Callable[[str, Any], dict[str, float]]:
    """Scores a champion on the same out-of-time rows, rebuilding features with its own builder."""
    from models import metrics as M

    test_ids = pd.Index(loans.loc[test_m, "loan_id"])
    test_tables = _subset_book(tables, test_ids)

    def score(kind: str, wrapper: Any) -> dict[str, float]:
        Xc = wrapper.feature_builder.transform(test_tables).reindex(test_ids)
        if kind == "recovery":
            rows = outcomes.reindex(test_ids)["defaulted"].astype(bool).to_numpy()
            ev = _lgd_eval(wrapper.recovery_model, loans[test_m].reset_index(drop=True), outcomes.reindex(test_ids).reset_index(),
                           Xc.reset_index(drop=True), rows, discount_rate)
            return {"lgd_mae": ev["metrics"].get("lgd_mae")}
        est = wrapper.pd_model if kind == "pd" else wrapper.scorecard
        return {"auc": M.auc(y_te, est.predict_pd(Xc[list(est.feature_names_)]))}

    return score


# ------------------------------------------------------------------------------- your own table
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
    import mlflow
    from sklearn.model_selection import train_test_split

    from models import metrics as M
    from models.pd_model import PDModel
    from models.scorecard import Scorecard
    from pipelines import registry, report as R, tracking as T
    from pipelines.readers import read_table
    from pipelines.validation_job import validate_file

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    contract: Contract = load_contract(contract_path)
    target = target or contract.target
    if not target:
        raise InputError(f"{contract.table}: no target column given (--target) and the contract names none")
    if target not in contract.column_names:
        raise InputError(f"{contract.table}: target column '{target}' is not in the contract (columns: {', '.join(contract.column_names[:8])}, …)")
    s = _settings()
    cfg: TrainConfig = s["train"]
    out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="iprisk-train-"))

    say(f"validating {Path(data_file).name} against contract '{contract.table}'")
    validation = validate_file(data_file, contract_path, out_dir / "data_validation")
    validation.raise_on_violations()
    experiment_id = T.connect(tracking)
    df = read_table(data_file, contract)
    y = pd.to_numeric(df[target], errors="coerce")
    if y.isna().any():
        raise InputError(f"{contract.table}.{target}: {int(y.isna().sum())} row(s) have no target value")
    y = y.to_numpy().astype(int)
    _check_target(y, contract.table, target, 20)
    feats = [c.name for c in contract.feature_columns if c.name != target and c.type in ("integer", "number", "boolean")]
    X = df[feats].astype("float64")
    mono = {k: v for k, v in contract.risk_directions().items() if k in feats}

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=cfg.byod_test_share, stratify=y, random_state=cfg.seed)
    say(f"fitting the PD model on {len(X_tr):,} rows")
    pd_model = PDModel(monotone_constraints=mono, random_state=cfg.seed).fit(X_tr, y_tr)
    say("fitting the WoE scorecard")
    scorecard = Scorecard(monotone_constraints=mono).fit(X_tr, y_tr)
    p_te, sc_te = pd_model.predict_pd(X_te), scorecard.predict_pd(X_te)
    scale = s["master_scale"]
    pd_m, jeffreys = pd_metrics(y_te, p_te, scale)
    sc_m, _ = pd_metrics(y_te, sc_te, scale)
    metrics = {f"pd.{k}": v for k, v in pd_m.items()} | {f"scorecard.{k}": v for k, v in sc_m.items()}
    result: dict[str, Any] = {"auc": metrics["pd.auc"], "scorecard_auc": metrics["scorecard.auc"]}
    if cv:
        say(f"{cv}-fold cross-validation")
        mean, std, folds = M.cross_validated_auc(lambda: PDModel(monotone_constraints=mono, random_state=cfg.seed), X, y, k=cv, seed=cfg.seed)
        sc_mean, sc_std, _ = M.cross_validated_auc(lambda: Scorecard(monotone_constraints=mono), X, y, k=cv, seed=cfg.seed)
        metrics |= {"cv_auc_mean": mean, "cv_auc_std": std, "scorecard.cv_auc_mean": sc_mean, "scorecard.cv_auc_std": sc_std}
        result |= {"cv_auc_mean": mean, "cv_auc_std": std, "cv_auc_folds": list(map(float, folds)), "scorecard_cv_auc_mean": sc_mean, "scorecard_cv_auc_std": sc_std}

    say("writing the validation report")
    grades = _grade_table(p_te, y_te, scale)
    side = pd.DataFrame([{"model": "LightGBM PD", "auc": metrics["pd.auc"], "cv_auc_mean": metrics.get("cv_auc_mean")},
                         {"model": "WoE scorecard", "auc": metrics["scorecard.auc"], "cv_auc_mean": metrics.get("scorecard.cv_auc_mean")}])
    sections = [
        {"title": f"PD model on {contract.table}", "text": f"Hold-out: {cfg.byod_test_share:.0%} stratified; target {target}.",
         "metrics": {k: v for k, v in metrics.items() if not k.startswith("scorecard.")},
         "images": {"ROC": R.roc_plot(y_te, {"LightGBM PD": p_te, "scorecard": sc_te}), "Calibration": R.calibration_plot(y_te, {"LightGBM PD": p_te})}},
        {"title": "Scorecard beside LightGBM", "tables": {"Side by side": side}},
        {"title": "Calibration per grade (Jeffreys test)", "tables": {"Jeffreys per grade": jeffreys, "Grades": grades}},
    ]
    html_path, json_path, _ = R.write_report(out_dir / "report", f"iprisk validation report — {contract.table}", sections, {"metrics": metrics})

    say("logging to MLflow")
    names = registry.byod_models(contract.table)
    example = X_te.head(5)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{contract.table}-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.set_tags({"iprisk.kind": "byod", "data.path": str(Path(data_file).resolve()), "data.fingerprint": fingerprint(data_file),
                         "code.version": code_version(), f"contract.{contract.table}": contract.version, "target": target})
        mlflow.log_params({f"train.{k}": v for k, v in asdict(cfg).items()} | {"n_features": len(feats), "cv": cv or 0})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_artifacts(str(out_dir / "report"), "validation_report")
        if validation.json_path:
            mlflow.log_artifact(str(validation.json_path), "data_validation")
        from pipelines.pyfunc_models import PDPyfunc, ScorecardPyfunc

        versions_in = {contract.table: contract.version}
        uris = _log_models(mlflow, {"pd": PDPyfunc(pd_model, None, versions_in), "scorecard": ScorecardPyfunc(scorecard, None, versions_in)}, example)
        run_id = run.info.run_id

    versions: dict[str, str] = {}
    decisions = []
    if promote:
        say("registering and running the promotion gate")

        def champion_metrics(kind: str, wrapper: Any) -> dict[str, float]:
            est = wrapper.pd_model if kind == "pd" else wrapper.scorecard
            return {"auc": M.auc(y_te, est.predict_pd(X_te[list(est.feature_names_)]))}

        versions, decisions = _register_and_gate(uris, names, {"run_id": run_id}, metrics, champion_metrics, s["gate"])
    return result | {
        "kind": "byod", "table": contract.table, "target": target, "rows": int(len(df)), "defaults": int(y.sum()),
        "run_id": run_id, "tracking_uri": mlflow.get_tracking_uri(),
        "registered_versions": {names[k]: v for k, v in versions.items()},
        "gate": [asdict(d) for d in decisions], "metrics": metrics,
        "report": str(html_path), "report_json": str(json_path), "seconds": round(time.perf_counter() - t0, 1),
    }


__all__ = ["TrainConfig", "train_book", "train_table", "pd_metrics", "fingerprint", "code_version", "year_split", "IpriskError"]
