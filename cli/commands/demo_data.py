"""`iprisk demo-data`: write a synthetic IP-pledge loan book with its ground truth (docs/demo-data.md)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from cli.app import app


@app.command("demo-data")
def demo_data(
    firms: int = typer.Option(20000, "--firms", min=1, help="Borrowing firms in the book (≈1.25 loans each; 80,000 ≈ 100k loans)."),
    seed: int = typer.Option(7, "--seed", help="Random seed; the same seed and settings give identical files."),
    out: Path = typer.Option(Path("build/demo"), "--out", help="Output folder for <table>.parquet and manifest.json."),
) -> None:
    """Generate the demo loan book (firms, patents, loans, pledges, outcomes, ground_truth) as Parquet.

    The generating model is configured by section `demo_book` of pipelines/iprisk.yaml.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from pipelines.demo_book import TABLES, generate_book, write_book
    from pipelines.demo_book_config import load_demo_book_config

    console = Console(highlight=False)
    cfg = load_demo_book_config()
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]demo book[/] {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as prog:
        task = prog.add_task("starting", total=1)

        def report(stage: str, done: int, total: int) -> None:
            prog.update(task, description=stage, completed=done, total=total)

        tables = generate_book(firms, seed, config=cfg, progress=report)
        prog.update(task, description="writing parquet")
        write_book(tables, out, seed=seed, n_firms=firms, config=cfg)
    elapsed = time.perf_counter() - t0

    loans, outcomes = tables["loans"], tables["outcomes"]
    years = loans["origination_date"].dt.year
    t = Table(title=f"Demo loan book (seed {seed}, {elapsed:.1f} s)")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name in TABLES:
        t.add_row(name, f"{len(tables[name]):,}")
    console.print(t)
    d = outcomes["defaulted"].to_numpy(bool)
    lgd = outcomes["realised_lgd"][d].mean() if d.any() else float("nan")
    console.print(f"written to {out}")
    console.print(
        f"origination years {years.min()}–{years.max()}; default rate {d.mean():.2%}; "
        f"mean realised LGD {lgd:.1%} over {int(d.sum()):,} defaults"
    )
