"""`iprisk audit`: show and replay decisions from the scoring service's audit log."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli.app import app

audit_app = typer.Typer(help="Inspect the scoring service's audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

_URL = typer.Option(None, "--audit-url", help="Audit store (default: serving.audit_url, .iprisk/audit.db).")


def _log(url: Optional[str]):
    from pipelines.audit_store import AuditLog
    from pipelines.serving_config import load_config

    return AuditLog(url or load_config().audit_target)


def _record(url: Optional[str], request_id: str):
    from data_contracts.errors import InputError

    log = _log(url)
    rec = log.get(request_id)
    if rec is None:
        raise InputError(f"audit log {log.url}: no decision with request id {request_id!r}")
    return rec


@audit_app.command("show")
def show(request_id: str = typer.Argument(..., help="Request id (the X-Request-ID / request_id of the answer)."),
         audit_url: Optional[str] = _URL) -> None:
    """Print one recorded decision: time, caller, role, model versions, inputs and outputs (JSON)."""
    typer.echo(json.dumps(_record(audit_url, request_id).as_dict(), indent=2))


@audit_app.command("list")
def list_(n: int = typer.Option(20, "--last", min=1, help="How many of the latest decisions."),
          as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
          audit_url: Optional[str] = _URL) -> None:
    """List the latest decisions (request id, time, endpoint, caller), newest first."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.audit_store import LIST_COLUMNS

    rows = [dict(zip(LIST_COLUMNS, row)) for row in _log(audit_url).recent(n)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    t = Table(box=None, pad_edge=False)
    # the id is what `audit show` / `audit replay` take: shown whole on one line in any terminal width
    t.add_column("request id", no_wrap=True, min_width=32)
    t.add_column("recorded at (UTC)", no_wrap=True)
    t.add_column("endpoint", overflow="fold")
    t.add_column("caller", overflow="fold")
    for r in rows:
        t.add_row(r["request_id"], r["recorded_at"][:19].replace("T", " "), r["endpoint"], r["caller"])
    Console(highlight=False).print(t)


@audit_app.command("replay")
def replay(request_id: str = typer.Argument(..., help="Request id to re-score."), audit_url: Optional[str] = _URL,
           tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow registry (default: the project's).")) -> None:
    """Re-score a decision with its recorded model versions; exit 1 if anything differs."""
    from rich.console import Console

    from pipelines.audit_replay import differences
    from pipelines.audit_replay import replay as do_replay

    rec = _record(audit_url, request_id)
    diffs = differences(rec.outputs, do_replay(rec, tracking_uri))
    con = Console(highlight=False)
    versions = ", ".join(f"{k} v{v}" for k, v in rec.model_versions.items()) or "no models"
    if not diffs:
        con.print(f"replay {request_id} ({rec.endpoint}, {versions}): identical")
        return
    con.print(f"[red]replay {request_id} ({rec.endpoint}, {versions}): {len(diffs)} difference(s)[/]")
    for path, a, b in diffs[:50]:
        con.print(f"  {path}: recorded {a!r} → replayed {b!r}")
    raise typer.Exit(1)


@audit_app.command("memo")
def memo(request_id: str = typer.Argument(..., help="Request id of a scored application (POST /v1/loans/score)."),
         out: Optional[str] = typer.Option(None, "--out", help="Write the HTML memo to this file (default: stdout)."),
         audit_url: Optional[str] = _URL) -> None:
    """The one-page decision memo (HTML, A4) rendered from the audit record: the same bytes as the
    service's GET /v1/decisions/{request_id}/memo with the same decision policy."""
    from pathlib import Path

    from pipelines.decision_memo import render_memo
    from pipelines.policy import load_policy
    from pipelines.report import atomic_write

    html = render_memo(_record(audit_url, request_id), load_policy().decision)
    if out:
        atomic_write(Path(out), html.encode("utf-8"))
        typer.echo(f"memo written to {out}")
    else:
        typer.echo(html, nl=False)
