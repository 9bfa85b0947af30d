"""`iprisk patents ingest` and `iprisk patents train-survival`: patent registers on real records.

    iprisk patents ingest FILE --format cnipa|uspto-assignments --out DIR [--json]
    iprisk patents train-survival --data FILE --contract FILE [--test FILE] [--cv K] [--json]
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.app import app
from pipelines.registers.events import event_types
from pipelines.registers.ingest import FORMATS, ingest_register
from pipelines.report import to_json

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
    result = ingest_register(file, fmt, out_dir)  # type: ignore[arg-type]
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
    total = [f"[bold]total[/]", f"[bold]{len(result.events):,}[/]"]
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
