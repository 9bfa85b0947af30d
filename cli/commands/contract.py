"""`iprisk contract draft`: a contract YAML proposed from a table, for the data scientist to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from cli.app import app

console = Console(stderr=True, highlight=False)
contract_app = typer.Typer(help="Data contracts of your own tables: draft one from a file.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")


@contract_app.command("draft")
def draft(
    file: Path = typer.Argument(..., help="The table (.csv, .parquet, .arff)."),
    target: str = typer.Option(..., "--target", help="Its default flag column (0/1 or true/false)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the YAML (default: print it on stdout)."),
) -> None:
    """Draft a contract from FILE: names, types, nullability, ranges with a margin, allowed values,
    identifier columns as keys, description placeholders and proposed risk directions with their
    evidence (as comments: confirm them by uncommenting)."""
    from pipelines.contract_draft import check_draft, draft_contract, render_yaml, write_draft

    d = draft_contract(file, target)
    proposed = sum(any(n.startswith("proposed risk_direction") for n in c.notes) for c in d.columns)
    summary = (f"drafted contract '{d.table}' from {file.name}: {len(d.columns)} columns, key {d.primary_key or 'none'}, "
               f"target {d.target}; {proposed} risk direction(s) proposed (commented out until you confirm them)")
    if out is None:
        text = render_yaml(d)
        check_draft(text)
        typer.echo(text, nl=False)
    else:
        write_draft(d, out)
        summary += f" → {out}"
    console.print(summary, soft_wrap=True)
