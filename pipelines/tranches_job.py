"""The tranche job: read a pool (file or loan book), targets and correlation YAML, run the engine,
write JSON and plots atomically; and the same for one JSON request of the service
(`evaluate_request`, with the loss curve for the page to draw). The arithmetic lives in
:mod:`models.portfolio`."""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import yaml

from data_contracts.errors import InputError, PortfolioError
from models.portfolio import (
    CorrelationStructure,
    Enhancement,
    ExactConfig,
    InvestorClass,
    MonteCarloConfig,
    StressScenario,
    TrancheRequest,
    TrancheSpec,
    evaluate_pool,
    pool_from_frame,
    tranches_from_points,
)
from pipelines.batch_scoring import pool_from_book
from pipelines.readers import read_raw
from pipelines.scale.cluster import dask_client, load_scale, parse_scheduler
from pipelines.scale.paths import dask_runner
from pipelines.settings import load_section

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

_EXACT, _MC = ExactConfig, MonteCarloConfig  # engine defaults are stated once, there
CURVE_POINTS = 400
"""Most points of the loss curve a service answer carries (the page draws it)."""
CURVE_BINS = 120
"""Bins of the common grid on which the base and stressed loss distributions are drawn together."""

DEFAULT_TARGETS = Path(__file__).parent / "tranche_targets.yaml"
PLOT_SUFFIXES = (".png", ".html")


@dataclass(frozen=True)
class TrancheSettings:
    """Defaults of ``iprisk tranches`` (section ``tranches`` of pipelines/iprisk.yaml).

    method: engine, "lhp" | "exact" | "mc" (default "exact"). correlation: asset correlation (default
    0.2). sector_correlation: sector factors' correlation with the global factor (default 1 = one
    factor). paths, seed, variance_reduction, importance_shift, stochastic_lgd, lgd_factor_loading,
    chunk_memory_mb, memory_limit_mb, workers: Monte Carlo (see ``MonteCarloConfig``).
    quadrature_nodes, grid_points: exact engine (see ``ExactConfig``). currency: of exposures
    (default "CNY"). stress_scenarios: the standard scenarios ``--stress`` adds (fields of
    ``StressScenario``; ``sector: largest`` = the pool's largest sector by exposure).
    """

    method: str = "exact"
    correlation: float = 0.2
    sector_correlation: float = 1.0
    paths: int = _MC.paths
    seed: int = _MC.seed
    variance_reduction: str = _MC.variance_reduction
    importance_shift: float = _MC.importance_shift
    stochastic_lgd: bool = _MC.stochastic_lgd
    lgd_factor_loading: float = _MC.lgd_factor_loading
    chunk_memory_mb: float = _MC.chunk_memory_mb
    memory_limit_mb: float = _MC.memory_limit_mb
    workers: int = _MC.workers
    quadrature_nodes: int = _EXACT.quadrature_nodes
    grid_points: int = _EXACT.grid_points
    currency: str = "CNY"
    stress_scenarios: tuple = ()


def load_settings() -> TrancheSettings:
    return load_section("tranches", TrancheSettings)


# -- inputs ---------------------------------------------------------------------------------
def read_pool(path: Path | None, book: Path | None, currency: str):
    """The pool from a CSV/Parquet file (validated by the pool contract) or from a loan book scored
    by the registry's champion models (``pipelines.batch_scoring.pool_from_book``)."""
    if (path is None) == (book is None):
        raise InputError("tranches: give either --pool FILE or --book DIR")
    if book is not None:
        df = pool_from_book(Path(book))
    else:
        p = Path(path)
        if p.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(f"pool {p.name}: unsupported file type '{p.suffix}' (use .csv or .parquet)")
        df = read_raw(p)
    return pool_from_frame(df, currency)


def _read_yaml(path: Path, what: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file not found: {p}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{what} {p.name}: not valid YAML: {e}") from e


def read_targets(path: Path | None = None):
    """Investor classes (most senior first) from a targets YAML: ``classes: [{name, basis, target,
    coupon, investor}]``; the shipped file by default."""
    p = Path(path) if path else DEFAULT_TARGETS
    raw = _read_yaml(p, "targets")
    if not isinstance(raw, dict) or not isinstance(raw.get("classes"), list) or not raw["classes"]:
        raise PortfolioError(f"targets {p.name}: expected a mapping with a non-empty list 'classes'")
    out = []
    for i, c in enumerate(raw["classes"]):
        if not isinstance(c, dict) or "name" not in c:
            raise PortfolioError(f"targets {p.name}: class #{i + 1} needs at least a 'name'")
        unknown = set(c) - {"name", "basis", "target", "coupon", "investor", "note"}
        if unknown:
            raise PortfolioError(f"targets {p.name}: class '{c['name']}': unknown key(s) {sorted(unknown)}")
        out.append(InvestorClass(str(c["name"]), c.get("basis"), None if c.get("target") is None else float(c["target"]),
                                 None if c.get("coupon") is None else float(c["coupon"]), c.get("investor")))
    return tuple(out)


def read_correlation(path: Path | None, correlation: float, sector_correlation: float):
    """Correlation structure: the scalar options, overridden by a YAML file with keys
    ``asset_correlation``, ``sector_correlation`` and ``sectors: {name: {asset_correlation, sector_correlation}}``."""
    if path is None:
        return CorrelationStructure(correlation, sector_correlation)
    raw = _read_yaml(Path(path), "correlation")
    if not isinstance(raw, dict):
        raise PortfolioError(f"correlation {Path(path).name}: top level must be a mapping")
    unknown = set(raw) - {"asset_correlation", "sector_correlation", "sectors"}
    if unknown:
        raise PortfolioError(f"correlation {Path(path).name}: unknown key(s) {sorted(unknown)}")
    return CorrelationStructure(float(raw.get("asset_correlation", correlation)),
                                float(raw.get("sector_correlation", sector_correlation)),
                                {str(k): dict(v or {}) for k, v in (raw.get("sectors") or {}).items()})


def parse_list(text: str | None, what: str) -> list[float] | None:
    """'0,0.03,0.07,1' -> [0.0, 0.03, 0.07, 1.0]."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError as e:
        raise PortfolioError(f"{what}: expected comma-separated numbers, e.g. 0,0.03,0.07,1; got {text!r}") from e


def stress_scenarios(settings: TrancheSettings, pool) -> tuple:
    """The standard stress scenarios, with ``sector: largest`` resolved against ``pool``."""
    out = []
    for raw in settings.stress_scenarios:
        d = dict(raw)
        if d.get("sector") == "largest":
            names = pool.sector.astype(str)
            uniq = np.unique(names)
            d["sector"] = str(uniq[np.argmax([pool.exposure_at_default[names == s].sum() for s in uniq])])
        try:
            out.append(StressScenario(**d))
        except TypeError as e:
            raise PortfolioError(f"settings tranches.stress_scenarios: {e}") from e
    return tuple(out)


# -- outputs --------------------------------------------------------------------------------
def check_plot_path(path: Path | None) -> None:
    """Fail before any work if the plot file type is not supported."""
    if path is not None and Path(path).suffix.lower() not in PLOT_SUFFIXES:
        raise InputError(f"--plot {Path(path).name}: use a .png or .html file")
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise InputError(f"--plot {path}: folder {Path(path).resolve().parent} does not exist")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(result, path: Path) -> None:
    atomic_write_bytes(path, json.dumps(result.as_dict(), indent=2).encode())


def render_figure(result) -> bytes:
    """PNG of the pool loss distribution with the tranche boundaries, and the tranches' expected loss."""
    x, y, kind = result.distribution.curve()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    top = max(float(result.distribution.quantile(0.9999)), 1e-3)
    if kind == "density":
        ax1.plot(x, y, color="#1f4e79")
        ax1.fill_between(x, y, alpha=0.2, color="#1f4e79")
        ax1.set_ylabel("density")
    else:  # probabilities on a grid or a histogram: re-bin into 150 bins up to the 99.99% quantile
        edges = np.linspace(0.0, top * 1.05, 151)
        hist, _ = np.histogram(np.clip(x, 0.0, edges[-1]), bins=edges, weights=y)
        ax1.stairs(hist, edges, fill=True, color="#1f4e79", alpha=0.8)
        ax1.set_ylabel("probability per bin")
    colors = ["#c0392b", "#e67e22", "#27ae60", "#8e44ad", "#2c3e50"]
    for i, t in enumerate(result.tranches):
        xa = result.enhancement.pool_threshold(t["attachment"])
        if np.isfinite(xa) and 0 < xa <= top * 1.05:
            ax1.axvline(xa, color=colors[i % len(colors)], ls="--", lw=1.2, label=f"{t['name']} attaches ({t['attachment']:.2%})")
    ax1.set_xlim(0, top * 1.05)
    ax1.set_xlabel("pool loss (fraction of notional)")
    ax1.set_title(f"Pool loss distribution ({result.method}); EL {result.expected_loss:.2%}")
    if ax1.get_legend_handles_labels()[0]:
        ax1.legend(fontsize=8, loc="upper right")
    names = [t["name"] for t in result.tranches][::-1]
    els = [t["expected_loss"] for t in result.tranches][::-1]
    bars = ax2.bar(names, els, color="#1f4e79")
    for t, b in zip(result.tranches[::-1], bars):
        if "expected_loss_se" in t:
            ax2.errorbar(b.get_x() + b.get_width() / 2, t["expected_loss"], yerr=3 * t["expected_loss_se"], color="k", capsize=4)
        ax2.annotate(f"{t['expected_loss']:.3%}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=8)
    ax2.set_yscale("symlog", linthresh=1e-4)
    ax2.set_ylabel("expected loss (fraction of tranche)")
    ax2.set_title("Tranche expected loss")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_plot(result, path: Path) -> None:
    """PNG, or an HTML page with the PNG and the tranche table, written atomically."""
    png = render_figure(result)
    if Path(path).suffix.lower() == ".png":
        atomic_write_bytes(path, png)
        return
    rows = "".join(
        f"<tr><td>{t['name']}</td><td>{t['attachment']:.4%}</td><td>{t['detachment']:.4%}</td>"
        f"<td>{t['expected_loss']:.4%}</td><td>{t['probability_of_loss']:.4%}</td>"
        f"<td>{t['expected_loss_amount']:,.0f} {result.currency}</td></tr>" for t in result.tranches)
    html = (f"<!doctype html><html><head><meta charset='utf-8'><title>Tranches ({result.method})</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}</style></head><body>"
            f"<h1>Trust-plan tranches ({result.method})</h1><p>Pool expected loss {result.expected_loss:.3%} of "
            f"{result.pool['notional']:,.0f} {result.currency}.</p><table><tr><th>tranche</th><th>attachment</th>"
            f"<th>detachment</th><th>expected loss</th><th>probability of loss</th><th>expected loss amount</th></tr>{rows}</table>"
            f"<img alt='loss distribution and tranche expected loss' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
            "</body></html>")
    atomic_write_bytes(path, html.encode())


# -- the job --------------------------------------------------------------------------------
def build_request(settings: TrancheSettings, pool, *, method: str | None = None, correlation: float | None = None,
                  sector_correlation: float | None = None, correlation_file: Path | None = None,
                  paths: int | None = None, seed: int | None = None, variance_reduction: str | None = None,
                  tranches: Sequence[float] | None = None, coupons: Sequence[float] | None = None,
                  targets: Path | None = None, compensation_share: float = 0.0, compensation_cap: float | None = None,
                  reserve: float = 0.0, overcollateralisation: float = 0.0, stress: bool = False):
    """A :class:`TrancheRequest` from settings and command-line overrides."""
    corr = read_correlation(correlation_file, settings.correlation if correlation is None else correlation,
                            settings.sector_correlation if sector_correlation is None else sector_correlation)
    if tranches is not None and targets is not None:
        raise PortfolioError("tranches: give either --tranches or --targets, not both")
    specs = classes = None
    if tranches is not None:
        specs = tuple(tranches_from_points(tranches, coupons))
    else:
        if coupons is not None:
            raise PortfolioError("tranches: --coupons goes with --tranches; with --targets the coupons are in the targets file")
        classes = read_targets(targets)
    mc = MonteCarloConfig(
        paths=settings.paths if paths is None else paths, seed=settings.seed if seed is None else seed,
        variance_reduction=variance_reduction or settings.variance_reduction, importance_shift=settings.importance_shift,
        stochastic_lgd=settings.stochastic_lgd, lgd_factor_loading=settings.lgd_factor_loading,
        chunk_memory_mb=settings.chunk_memory_mb, memory_limit_mb=settings.memory_limit_mb, workers=settings.workers)
    return TrancheRequest(
        method=method or settings.method, correlation=corr, tranches=specs, classes=classes,
        enhancement=Enhancement(compensation_share, compensation_cap, reserve, overcollateralisation),
        stress=stress_scenarios(settings, pool) if stress else (), monte_carlo=mc,
        exact=ExactConfig(settings.quadrature_nodes, settings.grid_points))


def run_tranches(request, pool, progress: Callable[[int], None] | None = None, scheduler: str | None = None):
    """Evaluate the request on the pool (see :func:`models.portfolio.evaluate_pool`). `scheduler`
    (Monte Carlo only): "process" (threads here), "local[:N]" or "tcp://HOST:PORT" runs the path
    chunks on a Dask cluster with the same figures for the same seed (default: settings `scale`)."""
    cfg = load_scale()
    where = parse_scheduler(scheduler if scheduler is not None else cfg.scheduler)
    if request.method != "mc" or where.kind == "process":
        return evaluate_pool(pool, request, progress)
    with dask_client(where, cfg) as client:
        return evaluate_pool(pool, request, progress, dask_runner(client))


# -- one JSON request (the service's POST /v1/trust/tranches and its audit replay) ------------
def loss_curve(dist: Any, enhancement: Any, tranches: list[dict]) -> dict[str, Any]:
    """The pool loss distribution up to its 99.99% quantile, thinned to at most `CURVE_POINTS`
    points (probabilities summed into bins, densities averaged), with each tranche's attachment
    as a pool-loss fraction."""
    x, y, kind = dist.curve()
    x, y = np.asarray(x, float), np.asarray(y, float)
    top = max(float(dist.quantile(0.9999)), 1e-3) * 1.05
    keep = x <= top
    x, y = x[keep], y[keep]
    if x.size > CURVE_POINTS:
        edges = np.linspace(0, top, CURVE_POINTS + 1)
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, CURVE_POINTS - 1)
        agg = np.bincount(idx, weights=y, minlength=CURVE_POINTS)
        if kind == "density":
            agg = agg / np.maximum(np.bincount(idx, minlength=CURVE_POINTS), 1)
        x, y = (edges[:-1] + edges[1:]) / 2, agg
    marks = []
    for t in tranches:
        xa = float(enhancement.pool_threshold(t["attachment"]))
        if np.isfinite(xa):
            marks.append({"name": t["name"], "pool_loss": xa})
    return {"kind": kind, "x": x.tolist(), "y": y.tolist(), "x_max": top, "attachments": marks}


def loss_curves(dists: Sequence[tuple[str, Any]], bins: int = CURVE_BINS) -> dict[str, Any]:
    """Several loss distributions on one grid so they can be drawn together: `edges` (bins + 1 pool-loss
    fractions from 0 to the largest 99.99% quantile × 1.05) and per distribution its `name`,
    `probability` per bin (P(e_i < L ≤ e_i+1); the first bin holds the mass at zero loss) and
    `exceedance` P(L > e_i) at each edge."""
    top = max(max(float(d.quantile(0.9999)) for _, d in dists), 1e-3) * 1.05
    edges = np.linspace(0.0, top, bins + 1)
    series = []
    for name, d in dists:
        sf = np.array([float(d.sf(float(e))[0]) for e in edges])
        sf = np.minimum.accumulate(np.clip(sf, 0.0, 1.0))
        prob = np.r_[1.0 - sf[1], sf[1:-1] - sf[2:]]
        series.append({"name": name, "probability": np.clip(prob, 0.0, 1.0).tolist(), "exceedance": sf.tolist()})
    return {"edges": edges.tolist(), "bin_width": float(top / bins), "series": series}


def _engine_summary(result: Any) -> dict[str, Any]:
    """What the engine comparison shows: pool EL and 99.9% quantile, and per tranche EL and P(loss)
    (with Monte Carlo standard errors)."""
    keep = ("name", "attachment", "detachment", "expected_loss", "expected_loss_se", "probability_of_loss", "probability_of_loss_se")
    d = result.as_dict()
    return {"method": d["method"], "expected_loss": d["expected_loss"], "expected_loss_se": d.get("expected_loss_se"),
            "loss_quantile_999": d["pool"]["loss_quantiles"].get("0.999"),
            "tranches": [{k: t[k] for k in keep if k in t} for t in d["tranches"]]}


def evaluate_request(body: dict[str, Any], max_paths: int) -> dict[str, Any]:
    """Tranche table (as `iprisk tranches --json`) and `loss_curve` for a checked request body
    (`pool`, optional `method`, `correlation`, `paths` ≤ `max_paths`, `seed`, `attachment_points`,
    `coupons`, `targets`: investor class → target overriding the shipped targets, `stress`: add the
    settings' stress scenarios, `compare_methods`: other engines to price the same tranches with).

    Besides the table: `loss_curve` (the base distribution, thinned), `loss_curves` (base and each
    stress scenario on one grid, `loss_curves`) and, with `compare_methods`, `engines`: the pool
    and tranche figures of the same tranches under each engine, the request's own first."""
    settings = load_settings()
    pool = pool_from_frame(pd.DataFrame(body["pool"]), settings.currency)
    paths = body.get("paths")
    if paths is not None and paths > max_paths:
        raise PortfolioError(f"tranches: at most {max_paths} Monte Carlo paths per request; asked {paths}")
    if body.get("method") == "mc" and paths is None:
        paths = min(settings.paths, max_paths)
    req = build_request(settings, pool, method=body.get("method"), correlation=body.get("correlation"),
                        paths=paths, seed=body.get("seed"), tranches=body.get("attachment_points"),
                        coupons=body.get("coupons"), stress=bool(body.get("stress")))
    targets = body.get("targets")
    if targets and req.classes is not None:
        classes = read_targets()
        names = {c.name for c in classes}
        unknown = sorted(set(targets) - names)
        if unknown:
            raise PortfolioError(f"tranches: unknown class(es) {unknown} in targets; known: {sorted(names)}")
        req = replace(req, classes=tuple(replace(c, target=float(targets[c.name])) if c.name in targets else c
                                         for c in classes))
    result = evaluate_pool(pool, req)
    out = result.as_dict()
    out["loss_curve"] = loss_curve(result.distribution, result.enhancement, out["tranches"])
    out["loss_curves"] = loss_curves([("base", result.distribution)] + [
        (sc["scenario"]["name"], d) for sc, d in zip(out["scenarios"], result.scenario_distributions)])
    others = [m for m in dict.fromkeys(body.get("compare_methods") or []) if m != req.method]
    if others:
        same = tuple(TrancheSpec(t["attachment"], t["detachment"], t["name"], t.get("coupon")) for t in out["tranches"])
        out["engines"] = [_engine_summary(result)] + [
            _engine_summary(evaluate_pool(pool, replace(req, method=m, tranches=same, classes=None, stress=()))) for m in others]
    return out
