"""`iprisk run`: the whole product on the demo book — what `make run` does.

Builds the demo book (skipped when the same seed and size are already there), validates it, builds
features and prints a summary, trains and registers the models (skipped when champions exist,
unless --retrain), creates development API keys, starts the MLflow UI and then the service.
Ctrl+C or SIGTERM stops both (`cli.processes`), so the ports are free for the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cli.app import app
from cli.processes import Children, Stopped, stop_on_signals

console = Console(highlight=False)


def _book_is_current(out: Path, firms: int, seed: int) -> bool:
    try:
        m = json.loads((out / "manifest.json").read_text())
        return int(m.get("n_firms", -1)) == firms and int(m.get("seed", -1)) == seed
    except (OSError, ValueError):
        return False


def _dev_keys(home: Path) -> dict[str, str]:
    """Create one development key per role (once) in the untracked `.iprisk/` folder; return them."""
    from pipelines.key_store import create_key
    from pipelines.serving_config import load_config

    plain = home / ".iprisk" / "dev-keys.json"
    if plain.exists():
        return json.loads(plain.read_text())
    cfg = load_config()
    keys = {role: create_key(cfg.keys_path, role, name=f"dev-{role}") for role in ("credit_officer", "fund_manager", "data_scientist")}
    from pipelines.report import atomic_write

    atomic_write(plain, json.dumps(keys, indent=1))
    os.chmod(plain, 0o600)
    return keys


@app.command()
def run(
    firms: int = typer.Option(20000, "--firms", min=100, help="Firms in the demo book (≈1.25 loans each)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the demo book."),
    out: Path = typer.Option(Path("build/demo"), "--out", help="Folder of the demo book."),
    retrain: bool = typer.Option(False, "--retrain", help="Train even when champions already exist."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="End by starting the service (and the MLflow UI)."),
    port: int = typer.Option(3000, "--port", help="Service port (127.0.0.1)."),
    mlflow_port: int = typer.Option(5000, "--mlflow-port", help="MLflow UI port (127.0.0.1)."),
) -> None:
    """Demo book → validation → features → training → registry → service, in one command."""
    from pipelines import registry, tracking
    from pipelines.demo_book import generate_book, write_book
    from pipelines.demo_book_config import load_demo_book_config
    from pipelines.readers import read_book
    from pipelines.validation_job import validate_book

    home = tracking.home()
    t0 = time.perf_counter()
    if _book_is_current(out, firms, seed):
        console.print(f"demo book: {out} is current (firms={firms}, seed={seed})")
    else:
        from rich.progress import Progress

        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("generating the demo book", total=1.0)
            cfg = load_demo_book_config()
            tables = generate_book(firms, seed, config=cfg, progress=lambda stage, done, total: prog.update(
                task, description=f"demo book: {stage}", completed=done, total=total))
        write_book(tables, out, seed=seed, n_firms=firms, config=cfg)
        console.print(f"demo book: {out} ({time.perf_counter() - t0:.1f} s)")

    report = validate_book(out, out / "validation")
    report.raise_on_violations()
    tables = read_book(out)
    from features import FeatureBuilder

    X = FeatureBuilder().fit_transform(tables)
    loans, outcomes = tables["loans"], tables["outcomes"]
    years = sorted(loans["origination_date"].dt.year.unique().tolist())
    t = Table(title="Demo loan book")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("firms / patents / loans", f"{len(tables['firms']):,} / {len(tables['patents']):,} / {len(loans):,}")
    t.add_row("origination years", f"{years[0]}–{years[-1]}")
    t.add_row("default rate", f"{outcomes['defaulted'].mean():.2%}")
    t.add_row("loan amount (CNY)", f"{loans['amount'].sum() / 1e9:,.2f} bn")
    t.add_row("pledged patents' appraised value (CNY)", f"{X['total_appraised_value'].sum() / 1e9:,.2f} bn")
    t.add_row("features per loan", f"{X.shape[1]}")
    console.print(t)
    console.print(f"validation report: {report.html_path}  (summary {report.json_path})")

    tracking.connect()
    have = all(registry.alias_version(n) for k, n in registry.BOOK_MODELS.items() if k not in registry.OPTIONAL_BOOK_MODELS)
    if have and not retrain:
        console.print(f"champions already in the registry ({tracking.tracking_uri()}); use --retrain to train again")
    else:
        from cli.commands.train import print_gate
        from pipelines.training import train_book

        res = train_book(out, out_dir=out.parent / "train", progress=lambda m: console.print(f"  · {m}"), validation=report)
        m = res["metrics"]
        console.print(f"trained in {res['seconds']} s: PD AUC {m['pd.auc']:.4f} (oracle {m.get('oracle.auc', float('nan')):.4f}), "
                      f"scorecard AUC {m['scorecard.auc']:.4f}; report {res['report']}")
        print_gate(res["gate"], console)

    keys = _dev_keys(home)
    console.print("development API keys (stored in .iprisk/dev-keys.json, untracked):")
    for role, k in keys.items():
        console.print(f"  {role:15s} {k}")
    mlflow_url = f"http://127.0.0.1:{mlflow_port}"
    console.print(f"\nweb page:  http://127.0.0.1:{port}/ui\nAPI docs:  http://127.0.0.1:{port}/ "
                  f"(OpenAPI: http://127.0.0.1:{port}/v1/openapi.json)\nMLflow UI: {mlflow_url}"
                  f"   (or: mlflow ui --backend-store-uri {tracking.tracking_uri()})")
    if not serve:
        return
    bin_dir = str(Path(sys.executable).parent)
    mlflow_bin = shutil.which("mlflow", path=bin_dir) or "mlflow"
    iprisk = shutil.which("iprisk", path=bin_dir) or "iprisk"
    children = Children()
    with stop_on_signals():
        try:
            # one worker and no job runner (GenAI jobs): a light UI that starts quickly and stops at once
            ui_env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": os.environ.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")}
            children.start([mlflow_bin, "ui", "--backend-store-uri", tracking.tracking_uri(), "--host", "127.0.0.1",
                            "--port", str(mlflow_port), "--workers", "1"], env=ui_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            service = children.start([iprisk, "serve", "--port", str(port), "--mlflow-ui", mlflow_url])
            rc = service.wait()
        except Stopped as e:  # Ctrl+C or SIGTERM: the service and the MLflow UI go too
            console.print(f"\n{e}: stopping the service and the MLflow UI")
            rc = 128 + e.signum
        finally:
            children.stop()
    if rc not in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM, -signal.SIGINT, -signal.SIGTERM):
        raise typer.Exit(rc if rc > 0 else 1)
