"""`iprisk train`, `iprisk evaluate`, `iprisk promote`, `iprisk score`: the data scientist's loop."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.app import app

console = Console(stderr=True, highlight=False)


def _progress(quiet: bool):
    """A rich status line for each training step (on stderr, so --json stays clean on stdout)."""
    if quiet:
        return None, None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False)
    state = {"task": None}

    def step(msg: str) -> None:
        if state["task"] is not None:
            prog.update(state["task"], completed=1, total=1)
        state["task"] = prog.add_task(msg, total=None)

    return prog, step


def print_gate(decisions: list[dict], out: Console | None = None) -> None:
    """One line per gate verdict: model, version, decision, metric against the champion, reason
    (on stderr by default, so `--json` keeps stdout clean)."""
    target = out if out is not None else console
    fmt = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    target.print("[bold]Promotion gate[/]")
    for d in decisions:
        colour = "green" if d["decision"] == "promoted" else "yellow"
        champ = f"champion v{d['champion_version']} {fmt(d['champion_metric'])}" if d["champion_version"] else "no champion"
        target.print(f"  {d['model']} v{d['version']}: [{colour}]{d['decision']}[/] — {d['metric']} {fmt(d['challenger_metric'])} vs {champ}; {d['reason']}",
                      soft_wrap=True)
    from pipelines.training.gate import no_champion_advice

    for line in no_champion_advice(decisions):
        target.print(f"  [bold yellow]no champion:[/] {line}", soft_wrap=True)


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        from data_contracts.errors import InputError

        raise InputError(f"--cv-seeds {text!r}: give whole numbers separated by commas, e.g. 7,0,1") from None


def print_directions(result: dict, out: Console | None = None) -> None:
    """The risk directions: how many were enforced under the policy, and every contradiction."""
    target = out if out is not None else console
    ev = result.get("direction_evidence") or []
    if not ev:
        return
    enforced = sum(r["enforced"] for r in ev)
    target.print(f"[bold]Risk directions[/] (policy {result.get('direction_policy')}): {enforced} of {len(ev)} stated directions enforced; "
                 f"{sum(r['verdict'] == 'supported' for r in ev)} supported by the data, "
                 f"{sum(r['verdict'] in ('contradicted', 'rejected') for r in ev)} contradicted")
    for line in result.get("contradictions", []):
        target.print(f"  [yellow]contradiction[/] {line}", soft_wrap=True)


def print_pd_role(result: dict, out: Console | None = None) -> None:
    """Which family holds the PD role this run (registered as iprisk-pd), each candidate's checks, any recalibration."""
    if "pd_family" not in result:
        return
    target = out if out is not None else console
    names = {"lightgbm": "LightGBM", "scorecard": "scorecard"}
    cands = "; ".join(f"{names[f]} {why}" for f, why in result.get("pd_candidates", {}).items())
    target.print(f"[bold]PD role[/]: {names[result['pd_family']]} (best AUC among the candidates that pass the calibration checks "
                 f"on the test year; {cands})", soft_wrap=True)
    rc = result.get("recalibration")
    if rc:
        shifts = ", ".join(f"{names[f]} {v:+.3f}" for f, v in rc["shift"].items())
        target.print(f"  recalibrated on {rc['years']} (default rate {rc['default_rate']:.4f}): log-odds shift {shifts}; "
                     "that year's calibration in the large is now fitted, not tested", soft_wrap=True)


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="Loan-book folder (firms/patents/loans/pledges/outcomes .parquet), "
                                                     "or a firm-level table of your own (.arff/.csv/.parquet) with --contract."),
    contract: Optional[Path] = typer.Option(None, "--contract", help="Contract YAML describing your own table (bring-your-own-data)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column of your own table (default: the contract's target)."),
    cv: Optional[int] = typer.Option(None, "--cv", min=2, max=20, help="Also report K-fold cross-validated AUC (own table)."),
    cv_seeds: Optional[str] = typer.Option(None, "--cv-seeds", help="Comma-separated split seeds for --cv, e.g. 7,0,1 "
                                                                     "(default: the train section's seed); the mean over seeds is reported."),
    test: Optional[Path] = typer.Option(None, "--test", help="A separate file of the same contract (another year, another bank): "
                                                             "train on all of --data, evaluate here (test.auc, calibration, PSI)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the validation report (default: a temporary folder; "
                                                               "it is logged to MLflow either way)."),
    no_promote: bool = typer.Option(False, "--no-promote", help="Log the run but register nothing and run no gate."),
    recalibrate: bool = typer.Option(False, "--recalibrate", help="Loan book: shift the PD candidates' log-odds to the latest labelled "
                                                                 "year's default rate before the gate (recorded in MLflow; that year's "
                                                                 "calibration in the large is then fitted, not tested)."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Validate, build features, fit PD + scorecard (+ recovery on a book), evaluate out of time,
    log to MLflow, register, and run the promotion gate."""
    from pipelines.report import to_json
    from pipelines.training import train_book, train_table

    prog, step = _progress(as_json)
    try:
        if prog:
            prog.start()
        if contract is not None or data.is_file():
            if contract is None:
                from data_contracts.errors import InputError

                raise InputError(f"{data} is a file: give its contract with --contract FILE (e.g. data_contracts/polish_bankruptcy.yaml)")
            result = train_table(data, contract, target, cv=cv, cv_seeds=_seeds(cv_seeds), test_file=test, out_dir=out,
                                 progress=step, promote=not no_promote)
        else:
            if test is not None or cv_seeds is not None:
                from data_contracts.errors import InputError

                raise InputError(f"{data}: --test and --cv-seeds apply to a firm-level table with --contract, not to a loan book "
                                 "(a loan book is tested out of time on its latest year)")
            result = train_book(data, out_dir=out, progress=step, promote=not no_promote,
                                recalibrate_latest_year=True if recalibrate else None)
        if step:
            step("done")
    finally:
        if prog:
            prog.stop()
    if as_json:
        keep = ("kind", "table", "auc", "cv_auc_mean", "cv_auc_std", "cv_auc_folds", "cv_auc_by_seed", "scorecard_auc", "scorecard_cv_auc_mean",
                "scorecard_cv_auc_std", "scorecard_cv_auc_by_seed", "test", "test_rows", "test_defaults", "direction_policy",
                "direction_evidence", "contradictions", "oracle_auc", "run_id", "tracking_uri", "registered_versions", "gate",
                "report", "report_json", "seconds", "rows", "defaults", "metrics", "pd_family", "pd_candidates", "recalibration")
        typer.echo(to_json({k: result[k] for k in keep if k in result}))
        return
    m = result["metrics"]
    t = Table(title=f"Training run {result['run_id']}")
    t.add_column("metric")
    t.add_column("LightGBM PD", justify="right")
    t.add_column("scorecard", justify="right")
    for k in ("auc", "gini", "ks", "brier", "mean_pd", "default_rate", "jeffreys_pass_share", "hosmer_lemeshow_p", "auc_to_oracle"):
        if f"pd.{k}" in m:
            t.add_row(k, f"{m[f'pd.{k}']:.4f}", f"{m.get(f'scorecard.{k}', float('nan')):.4f}")
    if "cv_auc_mean" in result:
        t.add_row("cv auc (mean ± sd)", f"{result['cv_auc_mean']:.4f} ± {result['cv_auc_std']:.4f}",
                  f"{result.get('scorecard_cv_auc_mean', float('nan')):.4f} ± {result.get('scorecard_cv_auc_std', float('nan')):.4f}")
    if "cv_auc_by_seed" in result and len(result["cv_auc_by_seed"]) > 1:
        for seed, v in result["cv_auc_by_seed"].items():
            t.add_row(f"cv auc, split seed {seed}", f"{v:.4f}", f"{result['scorecard_cv_auc_by_seed'][seed]:.4f}")
    if "test" in result:
        tm = result["test"]
        t.add_row(f"test.auc ({result['test_rows']:,} rows, {result['test_defaults']} defaults)", f"{tm['auc']:.4f}",
                  f"{tm.get('scorecard.auc', float('nan')):.4f}")
        t.add_row("test mean PD vs default rate [95%]", f"{tm['mean_pd']:.4f} vs {tm['default_rate']:.4f} "
                  f"[{tm['default_rate_lo95']:.4f}, {tm['default_rate_hi95']:.4f}]", "")
        t.add_row("test PSI of the score (data → test)", f"{tm['psi_score']:.4f}", "")
    if result.get("oracle_auc"):
        t.add_row("oracle auc (true PD)", f"{result['oracle_auc']:.4f}", "")
    for k in ("lgd_mae", "lgd_bias", "mean_expected_lgd", "mean_realised_lgd"):
        if f"recovery.{k}" in m:
            t.add_row(f"recovery {k}", f"{m[f'recovery.{k}']:.4f}", "")
    console.print(t)
    print_directions(result)
    print_pd_role(result)
    if result.get("gate"):
        print_gate(result["gate"])
    console.print(f"validation report: {result['report']}\nMLflow: {result['tracking_uri']} (run {result['run_id']}); {result['seconds']} s")


@app.command()
def evaluate(
    model: Optional[str] = typer.Option(None, "--model", help="Registered model name (default: the loan-book models)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show champion and challenger of each model side by side: versions, headline metrics, gate verdicts."""
    from pipelines import registry, tracking
    from pipelines.report import to_json

    tracking.connect(create_experiment=False)
    names = [model] if model else list(registry.BOOK_MODELS.values())
    rows = []
    for name in names:
        for alias in (registry.CHAMPION, registry.CHALLENGER):
            v = registry.alias_version(name, alias)
            if v is None:
                continue
            info = registry.version_info(name, v)
            head = {k: val for k, val in info["metrics"].items() if k.split(".")[-1] in registry.HEADLINE_METRICS}
            rows.append({"model": name, "alias": alias, "version": v, "metrics": head,
                         "gate": {k[5:]: val for k, val in info["tags"].items() if k.startswith("gate.")}})
    if not rows:
        from data_contracts.errors import RegistryError

        raise RegistryError(f"registry {tracking.tracking_uri()}: no champion or challenger for {', '.join(names)}; train first (`iprisk train --data DIR`)")
    if as_json:
        typer.echo(to_json(rows))
        return
    t = Table(title="Models in the registry")
    for c in ("model", "alias", "version", "auc", "jeffreys pass", "lgd mae", "gate"):
        t.add_column(c)
    def pick(r: dict, suffix: str) -> str:
        scorecard = r["model"].startswith("iprisk-scorecard")
        return next((f"{v:.4f}" for k, v in r["metrics"].items()
                     if (k.endswith(suffix) and not k.startswith("scorecard.")) or (scorecard and k == f"scorecard.{suffix}")), "–")

    for r in rows:
        t.add_row(r["model"], r["alias"], r["version"], pick(r, "auc"), pick(r, "jeffreys_pass_share"), pick(r, "lgd_mae"),
                  r["gate"].get("decision", "–"))
    Console(highlight=False).print(t)


@app.command()
def promote(
    model: str = typer.Argument(..., help="Registered model name, e.g. iprisk-pd."),
    version: str = typer.Argument(..., help="Version to make champion."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded on the version)."),
    force: bool = typer.Option(False, "--force", help="Promote even if the version's recorded calibration checks failed."),
) -> None:
    """Make a version champion by hand (e.g. after review); the verdict is recorded on the version."""
    from data_contracts.errors import ModelError
    from pipelines import registry, tracking
    from pipelines.promotion import GateConfig, GateDecision, calibration_ok
    from pipelines.settings import load_section

    tracking.connect(create_experiment=False)
    info = registry.version_info(model, version)
    prefix = "scorecard." if model.startswith("iprisk-scorecard") else "pd."
    metrics = {k[len(prefix):]: v for k, v in info["metrics"].items() if k.startswith(prefix)}
    ok, why = calibration_ok(metrics, load_section("gate", GateConfig)) if model.startswith("iprisk-pd") else (True, "no calibration check")
    if not ok and not force:
        raise ModelError(f"{model} v{version}: {why}; use --force to promote anyway")
    champ = registry.alias_version(model)
    d = GateDecision(model, version, "promoted", f"manual: {reason}" + ("" if ok else f" (forced; {why})"), champ, metrics.get("auc"), None, "auc", ok)
    registry.apply_gate(d, model)
    print_gate([d.__dict__])
