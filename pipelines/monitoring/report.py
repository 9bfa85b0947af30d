"""The monitoring report's plots and sections: score distribution reference vs live, stability per
feature, grade mix across windows (migration of the population between grades), back-test calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipelines.report import figure_png, plt


def score_plot(edges: Sequence[float], reference: Sequence[float], live: Mapping[str, Sequence[float]]) -> bytes:
    """Share of decisions per PD bucket (reference bins; last bucket = missing), reference vs each window."""
    labels = [f"<{edges[0]:.3f}"] + [f"{a:.3f}–{b:.3f}" for a, b in zip(edges[:-1], edges[1:])] + [f"≥{edges[-1]:.3f}"] \
        if len(edges) else ["all"]
    k = len(labels)
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    x = np.arange(k)
    ax.bar(x, np.asarray(reference[:k]), color="#c6dbef", edgecolor="#6baed6", label="reference (test rows)")
    for i, (w, shares) in enumerate(live.items()):
        ax.plot(x, np.asarray(shares[:k]), marker="o", lw=1.2, label=w, color=plt.cm.Oranges(0.45 + 0.5 * i / max(len(live), 1)))
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    ax.set(ylabel="share of decisions", xlabel="PD bucket (reference deciles)", title="Score distribution: reference vs live")
    ax.legend(fontsize=7)
    return figure_png(fig)


def stability_plot(csi: Mapping[str, float], title: str, watch: float, act: float, top: int = 15) -> bytes:
    """Horizontal bars of the largest characteristic stability indices, with the watch / act bands."""
    s = pd.Series(dict(csi), dtype=float).dropna().sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.28 * max(len(s), 1) + 1.2))
    ax.barh(s.index.astype(str), s.values, color=["#cb181d" if v >= act else "#fd8d3c" if v >= watch else "#74c476" for v in s.values])
    for b in (watch, act):
        ax.axvline(b, color="grey", ls="--", lw=0.8)
    ax.set(xlabel="CSI (reference → live)", title=title)
    ax.tick_params(axis="y", labelsize=7)
    return figure_png(fig)


def grade_mix_plot(order: Sequence[str], reference: Mapping[str, float], windows: Mapping[str, Mapping[str, float]]) -> bytes:
    """Stacked grade shares: the reference, then each window (how the population moves between grades)."""
    cols = ["reference", *windows]
    data = [reference, *windows.values()]
    grades = [g for g in order if any(d.get(g, 0) for d in data)] + sorted({g for d in data for g in d} - set(order))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(cols) + 2), 3.6))
    bottom = np.zeros(len(cols))
    for i, g in enumerate(grades):
        v = np.array([d.get(g, 0.0) for d in data])
        ax.bar(cols, v, bottom=bottom, label=g, color=plt.cm.RdYlGn_r(i / max(len(grades) - 1, 1)))
        bottom += v
    ax.set(ylabel="share of decisions", title="Grade mix by window")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.legend(fontsize=6, ncol=2, title="grade", title_fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return figure_png(fig)


def calibration_plot(table: pd.DataFrame) -> bytes:
    """Mean recorded PD against the observed default rate per PD bin, with Jeffreys 95% intervals."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    t = table
    err = np.vstack([t["observed_dr"] - t["dr_lower"], t["dr_upper"] - t["observed_dr"]])
    ax.errorbar(t["mean_pd"], t["observed_dr"], yerr=err, fmt="o", color="#08519c", capsize=3, label="observed (95% interval)")
    hi = float(max(t["mean_pd"].max(), t["dr_upper"].max(), 0.01)) * 1.05
    ax.plot([0, hi], [0, hi], ls="--", color="grey", lw=0.8, label="PD = default rate")
    ax.set(xlabel="mean recorded PD", ylabel="observed default rate", title="Back-test calibration", xlim=(0, hi), ylim=(0, hi))
    ax.legend(fontsize=7)
    return figure_png(fig)


def sections(summary: Mapping[str, Any], images: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """Report sections (pipelines.report format) of a monitoring summary."""
    out: list[dict[str, Any]] = [{
        "title": f"Verdict: {summary['verdict']}",
        "text": (f"PD model {summary['model']} v{summary['model_version']}; {summary['decisions']:,} decisions in "
                 f"{len(summary['windows'])} window(s) from {summary['audit_store']}. Thresholds: PSI/CSI "
                 f"{summary['thresholds']['psi_watch']}/{summary['thresholds']['psi_act']} (watch/act)."),
        "metrics": {w["window"]: f"{w['verdict']}: " + ("; ".join(b["message"] for b in w["breaches"][:6]) or "no breach")
                    for w in summary["windows"]},
    }]
    rows = [{"window": w["window"], "decisions": w["decisions"], "approve": w["shares"].get("approve", 0.0),
             "refer": w["shares"].get("refer", 0.0), "decline": w["shares"].get("decline", 0.0), "mean PD": w["mean_pd"],
             "PSI score": w["psi_score"], "grade HHI": w["grade_herfindahl"], "verdict": w["verdict"],
             "top drifting features": ", ".join(f"{f['feature']} ({f['csi']:.2f})" for f in w["top_features"])}
            for w in summary["windows"]]
    out.append({"title": "Windows", "tables": {"per window": pd.DataFrame(rows)},
                "images": {k: v for k, v in images.items() if not k.startswith("back-test")}})
    per_version = [{"window": w["window"], "model version": v["model_version"], "decisions": v["decisions"],
                    "mean PD": v["mean_pd"], "PSI score": v["psi_score"]} for w in summary["windows"] for v in w["by_model_version"]]
    out.append({"title": "Per model version", "tables": {"per window and PD model version": pd.DataFrame(per_version)}})
    bt = summary.get("backtest")
    if bt:
        m = {k: v for k, v in bt["overall"].items() if not isinstance(v, (list, dict))}
        sec: dict[str, Any] = {"title": "Back-test", "metrics": m | {"pending (horizon not passed)": bt["pending"]},
                               "images": {k: v for k, v in images.items() if k.startswith("back-test")}}
        if bt["overall"].get("jeffreys"):
            sec["tables"] = {"Jeffreys test per grade": pd.DataFrame(bt["overall"]["jeffreys"])}
        out.append(sec)
    return out
