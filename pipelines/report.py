"""The validation report: an HTML page with plots and a JSON twin, written by every training run
and logged to MLflow. Sections are built by the training job; this module draws and writes.

A section is a dict with a `title`, optional `metrics` (name → number/str), optional `tables`
(caption → DataFrame) and optional `images` (caption → PNG bytes).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from data_contracts.jsonable import jsonable

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def roc_plot(y: np.ndarray, scores: Mapping[str, np.ndarray], oracle: np.ndarray | None = None) -> bytes:
    """ROC curves of each named score (higher = riskier) on the same rows; the oracle dashed."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    series = dict(scores)
    if oracle is not None:
        series["oracle (true PD)"] = oracle
    for name, s in series.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, "--" if name.startswith("oracle") else "-", label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out-of-time test")
    ax.legend(loc="lower right", fontsize=8)
    return figure_png(fig)


def calibration_plot(y: np.ndarray, pds: Mapping[str, np.ndarray], bins: int = 10) -> bytes:
    """Mean predicted PD against observed default rate per PD decile, log-log."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    lo = 1.0
    for name, p in pds.items():
        q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
        g = pd.DataFrame({"p": p, "y": y, "q": q}).groupby("q").agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
        ax.plot(g["p"], g["y"].clip(lower=1e-5), "o-", label=name, ms=4)
        lo = min(lo, float(g["p"].min()))
    lo = max(lo / 2, 1e-4)
    ax.plot([lo, 1], [lo, 1], color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="mean predicted PD", ylabel="observed default rate", title="Calibration by PD decile")
    ax.legend(fontsize=8)
    return figure_png(fig)


def grade_plot(grades: pd.DataFrame) -> bytes:
    """Bars: share of loans per grade; dots: observed default rate and mean PD per grade."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    x = np.arange(len(grades))
    ax.bar(x, grades["share"], color="#9ecae1", label="share of loans")
    ax.set_xticks(x, grades["grade"].astype(str), fontsize=8)
    ax.set_ylabel("share of loans")
    ax2 = ax.twinx()
    ax2.plot(x, grades["mean_pd"], "o-", color="#08519c", label="mean PD", ms=4)
    ax2.plot(x, grades["default_rate"], "s", color="#cb181d", label="observed DR", ms=4)
    ax2.set_yscale("log")
    ax2.set_ylabel("PD / default rate")
    ax.set_title("Grade distribution (out-of-time test)")
    fig.legend(loc="upper left", fontsize=8)
    return figure_png(fig)


def lgd_plot(realised: np.ndarray, expected: np.ndarray) -> bytes:
    """Realised against expected LGD on defaulted test loans, by expected-LGD decile."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    if len(realised) >= 10:
        q = pd.qcut(pd.Series(expected).rank(method="first"), min(10, len(realised) // 5 or 1), labels=False)
        g = pd.DataFrame({"e": expected, "r": realised, "q": q}).groupby("q").mean()
        ax.plot(g["e"], g["r"], "o-", ms=4, label="decile means")
    ax.scatter(expected, realised, s=4, alpha=0.25, color="grey", label="loans")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax.set(xlabel="expected LGD", ylabel="realised LGD", xlim=(0, 1), ylim=(0, 1), title="LGD calibration (defaulted test loans)")
    ax.legend(fontsize=8)
    return figure_png(fig)


def psi_plot(psi: pd.Series, top: int = 15) -> bytes:
    """Horizontal bars of the largest PSIs with the 0.10 / 0.25 bands."""
    s = psi.sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.28 * len(s) + 1.2))
    ax.barh(s.index.astype(str), s.values, color=["#cb181d" if v > 0.25 else "#fd8d3c" if v > 0.10 else "#74c476" for v in s.values])
    for b in (0.10, 0.25):
        ax.axvline(b, color="grey", ls="--", lw=0.8)
    ax.set(xlabel="PSI (train → test)", title="Population stability")
    ax.tick_params(axis="y", labelsize=7)
    return figure_png(fig)


# ---------------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "–"
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return html.escape(str(v))


def render_html(title: str, sections: Sequence[Mapping[str, Any]]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}"
        "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}h2{border-bottom:2px solid #08519c;padding-bottom:3px}"
        "img{margin:.4em 1em .4em 0;border:1px solid #eee}.fail{color:#cb181d;font-weight:bold}.pass{color:#238b45}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec['title'])}</h2>")
        if sec.get("text"):
            parts.append(f"<p>{html.escape(sec['text'])}</p>")
        if sec.get("metrics"):
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in sec["metrics"].items())
            parts.append(f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>")
        for cap, df in (sec.get("tables") or {}).items():
            parts.append(f"<h3>{html.escape(cap)}</h3>")
            parts.append(df.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0))
        for cap, png in (sec.get("images") or {}).items():
            b64 = base64.b64encode(png).decode()
            parts.append(f"<img alt='{html.escape(cap)}' title='{html.escape(cap)}' src='data:image/png;base64,{b64}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def to_json(doc: Any) -> str:
    """Strict JSON (no NaN) of a report or summary."""
    return json.dumps(jsonable(doc), indent=1, allow_nan=False)


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write to a temporary file in the same folder, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_report(out_dir: Path, title: str, sections: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> tuple[Path, Path, dict[str, Path]]:
    """Write `validation_report.html`, `validation_report.json` and each plot as PNG into `out_dir`."""
    out_dir = Path(out_dir)
    html_path = atomic_write(out_dir / "validation_report.html", render_html(title, sections))
    doc = {"title": title, "summary": summary, "sections": [
        {k: v for k, v in s.items() if k != "images"} | {"images": sorted((s.get("images") or {}).keys())} for s in sections
    ]}
    json_path = atomic_write(out_dir / "validation_report.json", to_json(doc))
    plots: dict[str, Path] = {}
    for s in sections:
        for cap, png in (s.get("images") or {}).items():
            name = "".join(ch if ch.isalnum() else "_" for ch in cap.lower()).strip("_") + ".png"
            plots[cap] = atomic_write(out_dir / "plots" / name, png)
    return html_path, json_path, plots
