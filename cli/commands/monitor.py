"""`iprisk monitor`: drift of the live decisions against the champion's reference, back-tests when
outcomes arrive, a verdict a scheduler can act on (exit code), and retraining on `act`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

from cli.app import app


@app.command("monitor")
def monitor(
    since: Optional[str] = typer.Option(None, "--since", help="From this day or time (UTC, inclusive)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to this day or time (UTC, exclusive)."),
    window: str = typer.Option("month", "--window", help="Window length: week or month."),
    outcomes: Optional[Path] = typer.Option(None, "--outcomes", help="Outcomes file (loan_id, defaulted, default_date[, realised_lgd]; "
                                            "contract monitoring_outcomes) for the back-test."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Day the outcomes are known up to (default: today); decides "
                                        "which horizons have passed."),
    audit_url: Optional[str] = typer.Option(None, "--audit-url", help="Audit store (default: serving.audit_url)."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow registry (default: the project's)."),
    model_version: Optional[str] = typer.Option(None, "--model-version", help="PD model version to compare with (default: champion)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: monitoring.output_dir/run-<time>)."),
    retrain_with: Optional[Path] = typer.Option(None, "--retrain-with", help="Loan book to retrain on when the verdict is act."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON summary instead of a table."),
) -> None:
    """Monitor the decisions in the audit log. Exit code: 0 stable, 10 watch, 11 act (1-5: errors)."""
    from rich.console import Console
    from rich.table import Table

    from data_contracts.errors import InputError
    from pipelines.monitoring.job import monitor as run

    con = Console(stderr=True, highlight=False)
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as e:
        raise InputError(f"monitor: --as-of {as_of!r} is not a date (YYYY-MM-DD)") from e
    with con.status("monitoring") as status:
        s = run(since=since, until=until, window=window, outcomes=outcomes, as_of=day, audit_url=audit_url,
                tracking_uri=tracking_uri, out_dir=out, model_version=model_version, retrain_with=retrain_with,
                progress=lambda m: status.update(m))
    if as_json:
        typer.echo(json.dumps(s, indent=1, default=str))
    else:
        t = Table(box=None, pad_edge=False)
        for c in ("window", "decisions", "approve", "decline", "mean PD", "PSI", "verdict", "breaches"):
            t.add_column(c, overflow="fold")
        for w in s["windows"]:
            t.add_row(w["window"], f"{w['decisions']:,}", f"{w['shares'].get('approve', 0):.0%}", f"{w['shares'].get('decline', 0):.0%}",
                      f"{w['mean_pd']:.2%}", f"{w['psi_score']:.3f}", w["verdict"],
                      "; ".join(b["message"] for b in w["breaches"][:4]) or w.get("note") or "–")
        out_con = Console(highlight=False)
        out_con.print(t)
        bt = (s.get("backtest") or {}).get("overall")
        if bt and bt.get("loans"):
            out_con.print(f"back-test: {bt['loans']:,} loans, {bt['defaults']} defaults, AUC {bt.get('auc') or float('nan'):.3f}, "
                          f"mean PD {bt['mean_pd']:.2%} vs default rate {bt['default_rate']:.2%} "
                          f"[{bt['default_rate_lo95']:.2%}, {bt['default_rate_hi95']:.2%}]")
        if s.get("retraining"):
            out_con.print(f"retrained: run {s['retraining']['run_id']}, versions {s['retraining']['registered_versions']}")
        out_con.print(f"verdict: [bold]{s['verdict']}[/]  report: {s['report']}  MLflow run: {s['mlflow_run_id']}")
    raise typer.Exit(s["exit_code"])
