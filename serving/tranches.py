"""`POST /v1/trust/tranches`: the same request builder and engine as `iprisk tranches`, plus the
loss-distribution curve as JSON (thinned to `CURVE_POINTS`) for the page to draw."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from data_contracts.errors import PortfolioError

CURVE_POINTS = 400


def _curve(dist: Any, enhancement: Any, tranches: list[dict]) -> dict[str, Any]:
    x, y, kind = dist.curve()
    x, y = np.asarray(x, float), np.asarray(y, float)
    top = max(float(dist.quantile(0.9999)), 1e-3) * 1.05
    keep = x <= top
    x, y = x[keep], y[keep]
    if x.size > CURVE_POINTS:  # thin: sum probabilities into bins, average densities
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


def evaluate(body: dict[str, Any], cfg: Any) -> dict[str, Any]:
    """Tranche table (as `iprisk tranches --json`) and `loss_curve` for a checked request body."""
    import pandas as pd

    from models.portfolio import pool_from_frame
    from models.portfolio.sizing import InvestorClass
    from pipelines.tranches_job import build_request, load_settings, read_targets

    settings = load_settings()
    pool = pool_from_frame(pd.DataFrame(body["pool"]), settings.currency)
    paths = body.get("paths")
    if paths is not None and paths > cfg.max_paths:
        raise PortfolioError(f"tranches: at most {cfg.max_paths} Monte Carlo paths per request; asked {paths}")
    if body.get("method") == "mc" and paths is None:
        paths = min(settings.paths, cfg.max_paths)
    req = build_request(settings, pool, method=body.get("method"), correlation=body.get("correlation"),
                        paths=paths, seed=body.get("seed"), tranches=body.get("attachment_points"),
                        coupons=body.get("coupons"))
    targets = body.get("targets")
    if targets and req.classes is not None:
        classes = read_targets()
        names = {c.name for c in classes}
        unknown = sorted(set(targets) - names)
        if unknown:
            raise PortfolioError(f"tranches: unknown class(es) {unknown} in targets; known: {sorted(names)}")
        req = replace(req, classes=tuple(replace(c, target=float(targets[c.name])) if c.name in targets else c
                                         for c in classes))
    from models.portfolio import evaluate_pool

    result = evaluate_pool(pool, req)
    out = result.as_dict()
    out["loss_curve"] = _curve(result.distribution, result.enhancement, out["tranches"])
    return out
