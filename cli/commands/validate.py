"""`iprisk validate`: check a loan book or one file against its data contracts (Great Expectations)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.app import app


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., help="A loan-book directory (firms, patents, loans, pledges, outcomes "
                                           "[, ground_truth] as .parquet or .csv) or a single .parquet/.csv/.arff file."),
    contract: Optional[Path] = typer.Option(None, "--contract", "-c",
                                            help="Contract YAML (or shipped table name) for a single file; "
                                                 "default: the contract named by the file's stem."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", "-o",
                                              help="Where to write the HTML report (Data Docs) and summary.json; "
                                                   "default: <PATH or its folder>/validation/."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON summary instead of a table."),
) -> None:
    """Validate data against its contracts; exit 0 when valid, 3 (with the first broken rule) when not."""
    import json

    from rich.console import Console
    from rich.table import Table

    from pipelines.validation_job import validate_path

    console = Console(highlight=False)
    report = validate_path(path, str(contract) if contract else None, report_dir)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        table = Table(title=f"Contract validation: {report.source}")
        for col, just in (("table", "left"), ("rows", "right"), ("expectations", "right"),
                          ("result", "left"), ("broken rules", "left")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for t in report.tables:
            broken = "; ".join(f"{v.column}: {v.rule} ({v.count})" for v in t.violations[:4])
            if len(t.violations) > 4:
                broken += f"; +{len(t.violations) - 4} more"
            table.add_row(t.table, f"{t.rows:,}", str(t.expectations),
                          "[green]pass[/]" if t.success else "[red]FAIL[/]", broken or "-")
        console.print(table)
        if report.html_path:
            console.print(f"HTML report: {report.html_path}", soft_wrap=True)
        console.print(f"JSON summary: {report.json_path}  ({report.seconds:.1f} s)", soft_wrap=True)
    report.raise_on_violations()
