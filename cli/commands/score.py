"""`iprisk score`: batch scoring with the champions — one file here, or a folder of Parquet
partitions plus a manifest, scored in this process or on a Dask cluster (`--scheduler`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from cli.app import app

console = Console(stderr=True, highlight=False)
FILE_SUFFIXES = (".parquet", ".csv")


@app.command()
def score(
    input: Path = typer.Option(..., "--input", help="Loan-book folder, or a .json file of applications ({firm, patents, loan})."),
    out: Path = typer.Option(..., "--out", help="Output .parquet or .csv file (one row per loan), or a folder: Parquet "
                             "partitions plus manifest.json, written last (no manifest = incomplete)."),
    reasons: int = typer.Option(3, "--reasons", min=0, max=10, help="Reason codes per loan."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With a folder --out: process (here), local[:N] "
                                            "(a Dask cluster of N worker processes on this machine) or tcp://HOST:PORT "
                                            "(a running Dask scheduler). Default: settings scale.scheduler."),
) -> None:
    """Batch-score loans with the champion models: PD, grade, LGD, EAD, EL, max loan, price, decision, reasons."""
    import time

    from data_contracts.errors import InputError
    from pipelines.batch_scoring import read_applications, score_tables, write_scores
    from pipelines.registry import load_bundle

    t0 = time.perf_counter()
    to_file = out.suffix.lower() in FILE_SUFFIXES
    if to_file and scheduler is not None:
        raise InputError(f"score output {out}: --scheduler writes a folder of partitions; give --out a folder name (no .parquet/.csv)")
    tables = read_applications(input)  # a bad input fails before the registry is touched
    bundle = load_bundle()  # versions resolved once, here; every worker gets this bundle
    versions = ", ".join(f"{k} v{v}" for k, v in bundle.versions.items())
    if to_file:
        frame = score_tables(bundle, tables, reasons=reasons)
        write_scores(frame, out)
        counts = frame["recommendation"].value_counts().to_dict()
        console.print(f"scored {len(frame):,} loans with {versions} in {time.perf_counter() - t0:.1f} s "
                      f"→ {out}  ({', '.join(f'{k}: {v}' for k, v in counts.items())})")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pipelines.scale.book_scoring import input_fingerprint, score_book
    from pipelines.scale.cluster import load_scale, parse_scheduler

    cfg = load_scale()
    where = parse_scheduler(scheduler if scheduler is not None else cfg.scheduler)
    n = len(tables["loans"])
    with Progress(TextColumn(f"scoring on {where}"), BarColumn(), MofNCompleteColumn(), TextColumn("loans"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("score", total=n)
        man = score_book(tables, bundle, out, where, cfg, reasons=reasons, input_info=input_fingerprint(input),
                         progress=lambda rows: bar.advance(task, rows))
    console.print(f"scored {man['rows']:,} loans with {versions} on {where} ({man['workers']} worker(s)) in "
                  f"{time.perf_counter() - t0:.1f} s → {out}/ ({len(man['partitions'])} partitions, {MANIFEST_NAME})")


MANIFEST_NAME = "manifest.json"
