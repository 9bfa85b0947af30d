"""Binned distributions and their stability indices, from counts (so a million decisions can be
counted chunk by chunk against the reference's bin edges).

A distribution is described by inner bin edges (the reference sample's quantiles, ties merged, as
`models.metrics.psi`) plus one bucket for missing values: `len(edges) + 2` buckets. PSI (of the
score) and CSI (of one feature) are the same formula, Σ (a − e)·ln(a / e) over bucket shares, with
empty buckets floored at `eps`; on the same samples it equals `models.metrics.psi`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

EPS = 1e-4
"""Share given to an empty bucket (as `models.metrics.psi`)."""


def quantile_edges(x: Any, bins: int) -> np.ndarray:
    """Inner bin edges (≤ bins − 1) from the finite values of `x`: its quantiles, ties merged."""
    a = np.asarray(x, dtype="float64").ravel()
    fin = a[np.isfinite(a)]
    if fin.size == 0:
        return np.array([])
    return np.unique(np.quantile(fin, np.linspace(0, 1, bins + 1))[1:-1])


def bin_counts(x: Any, edges: np.ndarray) -> np.ndarray:
    """Counts (len(edges) + 2,) of `x` per bucket: `(-inf, e0)`, `[e0, e1)`, …, `[e_last, inf)`, missing."""
    a = np.asarray(x, dtype="float64").ravel()
    ok = np.isfinite(a)
    counts = np.bincount(np.searchsorted(edges, a[ok], side="right"), minlength=len(edges) + 1).astype("int64")
    return np.append(counts, int((~ok).sum()))


def stability_index(expected_shares: Any, actual_counts: Any, eps: float = EPS) -> float:
    """PSI / CSI of live `actual_counts` against reference `expected_shares` (same buckets); NaN when
    there are no live counts."""
    e = np.maximum(np.asarray(expected_shares, dtype="float64"), eps)
    c = np.asarray(actual_counts, dtype="float64")
    if c.sum() <= 0:
        return float("nan")
    a = np.maximum(c / c.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def share_map(counts: Mapping[str, float]) -> dict[str, float]:
    """Counts per label → shares per label (empty → {})."""
    total = float(sum(counts.values()))
    return {k: float(v) / total for k, v in counts.items()} if total > 0 else {}
