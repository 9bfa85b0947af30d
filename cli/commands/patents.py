"""`iprisk patents ingest` and `iprisk patents train-survival`: patent registers on real records.

    iprisk patents ingest FILE --format cnipa|uspto-assignments --out DIR [--json]
    iprisk patents train-survival --data FILE --contract FILE [--test FILE] [--cv K] [--json]

The jobs are imported inside the commands, like the other command modules: `cli.main` imports
every command module at start, and the survival job pulls in MLflow, scikit-survival and
matplotlib (seconds; close to a minute on a loaded machine) that `iprisk --help` and the other
commands do not need.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cli.app import app

FORMATS = ("cnipa", "uspto-assignments")  # pipelines.registers.ingest.FORMATS (checked there too)

patents_app = typer.Typer(help="Patent registers on real records: ingest register files, train the patent survival model.",
                          no_args_is_help=True)
app.add_typer(patents_app, name="patents")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@patents_app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., help="Register file as published: the CNIPA table (.csv) or a USPTO daily assignment file (.zip or .xml)."),
    fmt: str = typer.Option(..., "--format", help=f"Register format: {' | '.join(FORMATS)}."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the Parquet tables, the rejects file and ingest_summary.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (counts per event type) instead of tables."),
) -> None:
    """Read a register file safely, check it against its contracts, write validated Parquet tables."""
    from pipelines.registers.events import event_types
    from pipelines.registers.ingest import IngestConfig, ingest_register
    from pipelines.report import to_json
    from pipelines.settings import load_section

    result = ingest_register(file, fmt, out_dir, load_section("registers", IngestConfig))  # type: ignore[arg-type]
    doc = result.as_dict()
    if as_json:
        typer.echo(to_json(doc))
        return
    t = Table(title=f"Ingested {result.source_file} ({result.format}) in {result.seconds:.1f} s")
    t.add_column("event type")
    t.add_column("events", justify="right")
    if result.format == "uspto-assignments":
        t.add_column("transactions", justify="right")
    counts = result.event_counts
    by_tx = doc.get("transactions_by_event_type", {})
    for et in event_types():
        if counts.get(et):
            row = [et, f"{counts[et]:,}"]
            if result.format == "uspto-assignments":
                row.append(f"{by_tx.get(et, 0):,}")
            t.add_row(*row)
    total = ["[bold]total[/]", f"[bold]{len(result.events):,}[/]"]
    if result.format == "uspto-assignments":
        total.append(f"[bold]{doc.get('transactions', 0):,}[/]")
    t.add_row(*total)
    out.print(t)
    if result.format == "uspto-assignments":
        c = Table(title="Conveyances (recorded transactions)")
        c.add_column("conveyance text")
        c.add_column("transactions", justify="right")
        for text, n in sorted(doc.get("transactions_by_conveyance", {}).items(), key=lambda kv: -kv[1]):
            c.add_row(text, str(n))
        out.print(c)
        out.print(f"{doc['transactions']} transactions over {doc['documents']} patent documents")
    else:
        dec = doc["decoding"]
        out.print(f"rows read {doc['rows_read']:,}, valid {doc['rows_valid']:,}, rejected {doc['rows_rejected']}; "
                  f"lines {dec['lines']:,} (CRLF {dec['line_endings']['crlf']:,}, LF {dec['line_endings']['lf']:,}); "
                  f"decoded with {dec['fallback_encoding']}: whole lines {dec['fallback_lines'] or '-'}, "
                  f"spans in lines {dec['mixed_lines'] or '-'}; unreadable characters {dec['replaced_characters']}")
        if doc["rows_rejected"]:
            r = Table(title=f"Rejected rows (quarantined in {doc['rejects_file']})")
            for col in ("line", "application number", "broken rules", "first reasons"):
                r.add_column(col)
            for row in doc["rejected_rows"]:
                r.add_row(str(row["source_line"]), str(row["application_number"] or "")[:24], str(row["broken_rules"]),
                          "; ".join(row["reasons"]))
            out.print(r)
    for name, info in result.tables.items():
        out.print(f"{name}: {info['rows']:,} rows → {info['path']}", soft_wrap=True)


def _progress(quiet: bool):
    """A rich status line per step on stderr (so --json keeps stdout clean); none with --json."""
    if quiet:
        return None, None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=False)
    state = {"task": None}

    def step(msg: str) -> None:
        if state["task"] is not None:
            prog.update(state["task"], completed=1, total=1)
        state["task"] = prog.add_task(msg, total=None)

    return prog, step


@patents_app.command("train-survival")
def train_survival_cmd(
    data: Path = typer.Option(..., "--data", help="The CNIPA table as published (.csv) or as ingested (cnipa_patents.parquet)."),
    contract: Path = typer.Option(..., "--contract", help="Its contract, e.g. data_contracts/cnipa_patents.yaml."),
    test: Path | None = typer.Option(None, "--test", help="A separate file of the same format (other patents) to test on."),
    cv: int | None = typer.Option(None, "--cv", min=2, max=20, help="K-fold cross-validation, the same folds for the model, "
                                                                              "the expert and the calibrated value score."),
    out_dir: Path | None = typer.Option(None, "--out", help="Folder for the report (default: a temporary folder; it is logged to MLflow either way)."),
    no_promote: bool = typer.Option(False, "--no-promote", help="Log the run but register nothing and run no gate."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Fit the patent survival model (P(still in force t years later)), compare it with the value
    score on the same folds, log to MLflow, register iprisk-patent-survival and run the gate."""
    from pipelines.report import to_json
    from pipelines.settings import load_section
    from pipelines.survival_job import SurvivalTrainConfig, train_survival

    prog, step = _progress(as_json)
    try:
        if prog:
            prog.start()
        result = train_survival(data, contract, test, cv, out_dir, step, promote=not no_promote,
                                config=load_section("patent_survival", SurvivalTrainConfig))
        if step:
            step("done")
    finally:
        if prog:
            prog.stop()
    if as_json:
        typer.echo(to_json(result))
        return
    f = lambda v: "–" if v is None else f"{v:.4f}"
    t = Table(title=f"Patent survival ({result['model']}): {result['n']:,} granted rights, {result['events']:,} lapses; run {result['run_id']}")
    t.add_column("")
    for col in ("survival model", "expert value score", "calibrated value score"):
        t.add_column(col, justify="right")
    if "cv" in result:
        for fold in result["cv"]["folds"]:
            t.add_row(f"fold {fold['fold']} Harrell C (Uno C)", f"{f(fold['c_index'])} ({f(fold['uno_c_index'])})",
                      f"{f(fold['expert_c_index'])} ({f(fold['expert_uno_c_index'])})", f(fold["calibrated_c_index"]))
        m, sd = result["cv"]["mean"], result["cv"]["std"]
        t.add_row(f"[bold]{result['cv']['k']}-fold mean ± sd[/]", f"{f(m['c_index'])} ± {sd['c_index']:.4f}",
                  f"{f(m['expert_c_index'])} ± {sd['expert_c_index']:.4f}", f"{f(m['calibrated_c_index'])} ± {sd['calibrated_c_index']:.4f}")
    if "test" in result:
        ts = result["test"]
        t.add_row(f"[bold]test ({ts['n']:,} rights)[/] Harrell C", f(ts["c_index"]), f(ts["expert_c_index"]), f(ts["calibrated_c_index"]))
    t.add_row("in-sample Harrell C", f(result["train_c_index"]), "", "")
    out.print(t)
    calib = result.get("test", {}).get("calibration") or result.get("cv", {}).get("calibration")
    if calib:
        c = Table(title="Calibration per risk band: predicted vs Kaplan–Meier survival (" + ("test" if "test" in result else "out of fold") + ")")
        for col in ("band", "n", "lapses", "years", "predicted", "observed", "95% CI", "inside"):
            c.add_column(col, justify="right")
        for r in calib:
            c.add_row(str(r["band"]), str(r["n"]), str(r["lapses"]), f"{r['horizon_years']:g}", f"{r['predicted']:.3f}",
                      f"{r['observed']:.3f}" if r["observed"] is not None else "–",
                      f"{r['observed_low']:.3f}–{r['observed_high']:.3f}" if r["observed_low"] is not None else "–",
                      "yes" if r["inside"] else "[yellow]no[/]")
        out.print(c)
    if result.get("gate"):
        g = result["gate"]
        colour = "green" if g["decision"] == "promoted" else "yellow"
        out.print(f"Promotion gate: {g['model']} v{g['version']}: [{colour}]{g['decision']}[/] — {g['reason']} (rows: {g['rows']})", soft_wrap=True)
    out.print(f"report: {result['report']}\nMLflow: {result['tracking_uri']} (run {result['run_id']}); {result['seconds']} s", soft_wrap=True)
