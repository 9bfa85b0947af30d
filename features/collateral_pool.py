"""The collateral pool of each loan: its pledged patents' indicators aggregated per loan.

Vectorised over all pledges at once (``np.bincount`` sums and ``reduceat`` extremes over rows
grouped by loan), so a batch of 100k loans and a single request run the same code, and a loan's
aggregates depend only on its own pledges.

Weights are appraised values (CNY); a loan whose pledged patents are all appraised at 0 gets equal
weights. NaN indicator values (a pending patent's grant lag) are skipped and the weights renormalised.
A loan without pledges gets count 0, total value 0 and NaN for every other pool feature.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from data_contracts.errors import ModelError
from features.specs import POOL_AGGREGATES, pool_feature_name


def weighted_means(x: np.ndarray, w: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Per group, the ``w``-weighted mean of ``x`` (n,): rows (m,) with ``group`` in 0..n-1. NaN ``x``
    are skipped and the weights renormalised; a group whose non-missing rows all weigh 0 gets their
    plain mean, a group without non-missing rows NaN. Sums in row order (``np.bincount``)."""
    ok = ~np.isnan(x)
    xz = np.where(ok, x, 0.0)
    num = np.bincount(group, weights=w * xz, minlength=n)
    den = np.bincount(group, weights=w * ok, minlength=n)
    # loans whose non-missing values all carry zero weight: plain mean of the non-missing values
    num_eq = np.bincount(group, weights=xz, minlength=n)
    cnt = np.bincount(group, weights=ok.astype(float), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.where(cnt > 0, num_eq / cnt, np.nan))


def value_weighted_by_loan(x: ArrayLike, appraised_values: ArrayLike, loan_pos: ArrayLike, n_loans: int,
                           empty: float, what: str) -> np.ndarray:
    """Per loan (n_loans,), the appraised-value-weighted mean of ``x`` over the loan's rows
    (``loan_pos``, (m,): each row's loan in 0..n_loans-1; values below 0 or NaN weigh 0; equal
    weights where a loan's values sum to 0), ``empty`` for a loan without rows. ModelError naming
    ``what`` when the lengths differ or a position is out of range."""
    pos = np.asarray(loan_pos, dtype=np.int64).ravel()
    v = np.clip(np.nan_to_num(np.asarray(appraised_values, float).ravel()), 0.0, None)
    xs = np.asarray(x, float).ravel()
    if not (pos.size == xs.size == v.size):
        raise ModelError(f"{what}: lengths differ (loan positions {pos.size}, rows {xs.size}, appraised values {v.size})")
    if pos.size and (pos.min() < 0 or pos.max() >= n_loans):
        raise ModelError(f"{what}: loan positions must lie in 0..{n_loans - 1}")
    out = weighted_means(xs, v, pos, n_loans)
    return np.where(np.isnan(out), empty, out)


def loan_codes(loan_ids: ArrayLike, what: str) -> tuple[np.ndarray, pd.Index]:
    """Each row's loan as a position 0..k-1 among the k distinct ids (in order of first appearance),
    and those ids; ModelError naming ``what`` for a missing id."""
    codes, uniques = pd.factorize(np.asarray(loan_ids, dtype=object).ravel())
    if (codes < 0).any():
        raise ModelError(f"{what}: loan ids must not be missing")
    return codes, pd.Index(uniques, dtype=object)


class _Groups:
    """Rows sorted by loan, with the start of each loan's run (for ``ufunc.reduceat``)."""

    def __init__(self, group: np.ndarray, n: int):
        self.order = np.argsort(group, kind="stable")
        g = group[self.order]
        self.starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.array([], dtype=np.int64)
        self.present = g[self.starts] if len(g) else np.array([], dtype=np.int64)
        self.n = n

    def reduce(self, ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
        out = np.full(self.n, np.nan)
        if len(self.starts):
            out[self.present] = ufunc.reduceat(x[self.order], self.starts)
        return out


def pool_features(indicators: Mapping[str, np.ndarray], loan_pos: np.ndarray, n_loans: int) -> dict[str, np.ndarray]:
    """Per-loan pool features (float64 arrays of length ``n_loans``).

    ``indicators``: patent indicator arrays, one entry per pledge row; ``loan_pos``: the row's loan
    (0..n_loans-1). Returns ``pledged_<indicator>_<wmean|min|max>`` for ``POOL_AGGREGATES`` plus
    ``pledged_patents``, ``invention_share``, ``concentration`` and ``total_appraised_value`` (CNY).
    """
    group = np.asarray(loan_pos, dtype=np.int64)
    value = np.asarray(indicators["appraised_value"], dtype=float)
    count = np.bincount(group, minlength=n_loans).astype(float)
    total = np.bincount(group, weights=value, minlength=n_loans)
    weight = np.where(total[group] > 0, value, 1.0)
    groups = _Groups(group, n_loans)
    out: dict[str, np.ndarray] = {}
    for name, agg in POOL_AGGREGATES:
        x = np.asarray(indicators[name], dtype=float)
        if agg == "wmean":
            out[pool_feature_name(name, agg)] = weighted_means(x, weight, group, n_loans)
        else:
            out[pool_feature_name(name, agg)] = groups.reduce(np.fmin if agg == "min" else np.fmax, x)
    largest = groups.reduce(np.fmax, value)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pledged_patents"] = count
        out["invention_share"] = np.where(
            count > 0, np.bincount(group, weights=indicators["is_invention"], minlength=n_loans) / np.maximum(count, 1), np.nan
        )
        out["concentration"] = np.where(total > 0, largest / np.where(total > 0, total, 1.0), np.nan)
    out["total_appraised_value"] = total
    return out
