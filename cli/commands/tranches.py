"""`iprisk tranches`: portfolio loss and tranche sizing for a trust plan's pool."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.app import app


@app.command("tranches")
def tranches(
    pool: Optional[Path] = typer.Option(None, "--pool", help="Pool file (.csv or .parquet), one row per loan, "
                                        "columns as data_contracts/pool.yaml."),
    book: Optional[Path] = typer.Option(None, "--book", help="A loan-book directory instead of --pool: PD and LGD "
                                        "come from the registry's champion models."),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="Asset correlation in [0, 1) (default: settings, 0.2)."),
    sector_correlation: Optional[float] = typer.Option(None, "--sector-correlation", help="Correlation of each sector "
                                                       "factor with the global factor, in [0, 1]; below 1 needs --method mc."),
    correlation_file: Optional[Path] = typer.Option(None, "--correlation-file", help="YAML: asset_correlation, "
                                                    "sector_correlation, sectors: {name: {asset_correlation, sector_correlation}}."),
    method: Optional[str] = typer.Option(None, "--method", help="Engine: lhp (large pool, closed form), exact "
                                         "(finite pool), mc (Monte Carlo copula). Default: settings (exact)."),
    paths: Optional[int] = typer.Option(None, "--paths", help="Monte Carlo paths (default: settings, 100000)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Monte Carlo seed (default: settings, 7)."),
    variance_reduction: Optional[str] = typer.Option(None, "--variance-reduction", help="Monte Carlo: none, "
                                                     "antithetic or importance (factor importance sampling for senior tails)."),
    tranche_points: Optional[str] = typer.Option(None, "--tranches", help="Attachment points as fractions of notional, "
                                                 "increasing, e.g. 0,0.03,0.07,1."),
    coupons: Optional[str] = typer.Option(None, "--coupons", help="With --tranches: one coupon per tranche (fraction "
                                          "over the horizon), most junior first, e.g. 0.18,0.07,0.035."),
    targets: Optional[Path] = typer.Option(None, "--targets", help="Investor-class targets YAML; without --tranches "
                                           "the shipped pipelines/tranche_targets.yaml is used."),
    compensation_share: float = typer.Option(0.0, "--compensation-share", help="Share of pool losses the government "
                                             "risk-compensation fund pays, in [0, 1]."),
    compensation_cap: Optional[float] = typer.Option(None, "--compensation-cap", help="Most the compensation fund pays, "
                                                     "fraction of pool notional (default: no cap)."),
    reserve: float = typer.Option(0.0, "--reserve", help="Cash reserve absorbing losses before the tranches, fraction of notional."),
    overcollateralisation: float = typer.Option(0.0, "--overcollateralisation", help="Pool notional beyond the notes, "
                                                "fraction of pool notional (tranche points are then fractions of the notes)."),
    stress: bool = typer.Option(False, "--stress", help="Add the standard stress scenarios from the settings "
                                "(downturn, PD doubled, LGD add-on, sector shock)."),
    currency: Optional[str] = typer.Option(None, "--currency", help="Currency of the exposures (default: settings, CNY)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout instead of tables."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Monte Carlo: where the path chunks run — process "
                                            "(threads here), local[:N] (a Dask cluster of N worker processes) or "
                                            "tcp://HOST:PORT; the same seed gives the same figures. Default: settings scale.scheduler."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the loss distribution with tranche boundaries and "
                                        "the tranches' expected loss to a .png or .html file."),
) -> None:
    """Size or evaluate trust-plan tranches: expected loss and probability of loss per tranche."""
    import json

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from pipelines import tranches_job as job

    err = Console(stderr=True, highlight=False)
    settings = job.load_settings()
    job.check_plot_path(plot)
    the_pool = job.read_pool(pool, book, currency or settings.currency)
    request = job.build_request(
        settings, the_pool, method=method, correlation=correlation, sector_correlation=sector_correlation,
        correlation_file=correlation_file, paths=paths, seed=seed, variance_reduction=variance_reduction,
        tranches=job.parse_list(tranche_points, "--tranches"), coupons=job.parse_list(coupons, "--coupons"),
        targets=targets, compensation_share=compensation_share, compensation_cap=compensation_cap,
        reserve=reserve, overcollateralisation=overcollateralisation, stress=stress)
    if request.method == "mc":
        total = request.monte_carlo.paths * (1 + len(request.stress))
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} paths"),
                      TimeRemainingColumn(), console=err, transient=True) as bar:
            task = bar.add_task("mc", total=total)
            result = job.run_tranches(request, the_pool, lambda n: bar.advance(task, n), scheduler)
    else:
        result = job.run_tranches(request, the_pool)
    if plot is not None:
        job.write_plot(result, plot)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    out = Console(highlight=False)
    _print_table(out, result.as_dict(), f"Tranches ({result.method})")
    for sc in result.scenarios:
        _print_table(out, sc, f"Stress: {sc['scenario']['name']}")
    if plot is not None:
        out.print(f"plot: {plot}")


def _print_table(console, d: dict, title: str) -> None:
    from rich.table import Table

    pool = d.get("pool", d)
    se = f" ± {pool['expected_loss_se']:.3%}" if "expected_loss_se" in pool else ""
    caption = (f"pool: {pool['loans']} loans, {pool['notional']:,.0f} {pool['currency']}; EL "
               f"{pool['expected_loss']:.3%}{se}; 99.9% loss {pool['loss_quantiles']['0.999']:.2%}")
    t = Table(title=title, caption=caption, padding=(0, 1))
    for col in ("tranche", "attach-detach", "EL", "P(loss)", f"EL {pool['currency']}", "E\\[return]", "BE DR", "target"):
        if col == "tranche":
            t.add_column(col, no_wrap=True, min_width=max(len(str(r["name"])) for r in d["tranches"]))
        else:
            t.add_column(col, justify="left" if col == "target" else "right")

    def pct(v, se=None, digits=2):
        if v is None:
            return "-"
        return f"{v:.{digits}%}" + (f"±{se:.{digits}%}" if se is not None else "")

    for r in d["tranches"]:
        target = "-"
        if r.get("target_basis"):
            target = f"{'PoL' if r['target_basis'] == 'probability_of_loss' else 'EL'}≤{r['target']:.2%} " + (
                "[green]met[/]" if r["meets_target"] else "[red]missed[/]")
        t.add_row(str(r["name"]), f"{r['attachment']:.2%}-{r['detachment']:.2%}",
                  pct(r["expected_loss"], r.get("expected_loss_se"), 3),
                  pct(r["probability_of_loss"], r.get("probability_of_loss_se")),
                  f"{r['expected_loss_amount']:,.0f}", pct(r["expected_return"]),
                  pct(r["break_even_default_rate"], digits=1), target)
    console.print(t)
