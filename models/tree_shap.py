"""Exact path-dependent TreeSHAP for a LightGBM booster, from per-leaf tables, vectorised over rows.

The same values as LightGBM's ``predict(pred_contrib=True)`` (the algorithm of Lundberg et al.
2020, with LightGBM's data counts as covers), up to floating-point summation order (≈1e-15), at a
fraction of the cost on large batches. Why not LightGBM's own: on the 343-tree PD model of an
80,000-firm book it costs about 67× a bare ``predict`` (docs/scale.md); the Fast TreeSHAP library
(Yang 2021, arXiv:2109.09847) that does what this module does is built against NumPy 1 and does not
import under the locked NumPy 2 ("_ARRAY_API not found").

How (Fast TreeSHAP "v2"). In one tree, leaf ``l`` with value ``v`` and the distinct features ``U``
on its path contributes the game g(S) = v · Π_{u∈U∩S} A_u · Π_{u∈U∖S} R_u, where A_u ∈ {0, 1}
says whether the row satisfies every split on ``u`` along the path and R_u is the product of the
path's cover fractions on ``u``. Its Shapley values depend on the row only through the bits A
(2^|U| patterns), so they are tabulated once per leaf (``LeafTable``). A row's contributions in a
tree are the sum over leaves of the table rows its bits select; rows with the same split pattern
(which side of each split they fall) share them, so each tree works on its distinct patterns only.

For i with A_i = 1 (P: satisfied, N: failed, X = P∖{i}):
    φ_i = v (1 − R_i) Π_{u∈N} R_u · Σ_j e_j(R_X) w(|X| − j)
and for i with A_i = 0 (X = P):
    φ_i = −v R_i Π_{u∈N∖{i}} R_u · Σ_j e_j(R_X) w(|X| − j)
with e_j the elementary symmetric polynomials and w(s) = s!(d − s − 1)!/d!, d = |U|.

Shapes: rows (n, p) float64 in the booster's feature order (NaN = missing); contributions (n, p + 1),
the last column the expected value (bias), rows summing to the raw margin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import factorial
from typing import Any

import numpy as np

from data_contracts.errors import ModelError

ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's kZeroThreshold (the float literal 1e-35f = 1.0000000180025095e-35): |x| ≤ this is read as 0 (and counts as zero for a "Zero" missing type)."""
MAX_SPLITS = 62
"""Most splits per tree a split pattern can encode (an int64 bit each)."""
DENSE_PATTERNS = 1 << 16
"""Trees with at most 16 splits find their distinct patterns by a lookup table, not a sort."""
MAX_PATH_FEATURES = 14
"""Most distinct features on one leaf's path (its table has 2^d rows; 14 = a 15-leaf chain)."""
MAX_TABLE_CELLS = 1 << 24
"""Most table cells (Σ 2^d · d over all leaves, 128 MB of float64) a booster may need."""


class UnsupportedBooster(ModelError):
    """The booster has a shape the tables do not cover (categorical splits, several trees per
    iteration, paths or tables too large): use LightGBM's own ``pred_contrib``."""


@dataclass(frozen=True)
class LeafTable:
    """One leaf: ``features`` (d,) booster column indices of the distinct path features; ``splits``
    per feature the (split index, goes-left) pairs on the path; ``table`` (2^d, d) Shapley values,
    row = bit pattern of satisfied features; ``expected`` = v · Π R (its share of the bias)."""

    features: tuple[int, ...]
    splits: tuple[tuple[tuple[int, bool], ...], ...]
    table: np.ndarray
    expected: float


@dataclass(frozen=True)
class TreeTable:
    """One tree: its splits (feature, threshold, default-left, missing type 0 None / 1 Zero / 2 NaN),
    its leaves, and ``features`` the sorted distinct features it splits on."""

    split_feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    leaves: tuple[LeafTable, ...]
    features: np.ndarray


_MISSING = {"None": 0, "Zero": 1, "NaN": 2}


def shapley_tables(fractions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(m, 2^d, d) Shapley values of m leaves' games for every satisfied-bit pattern; ``fractions``
    (m, d) the R_u in (0, 1], ``values`` (m,). Exact dynamic programme over the players (sums of
    products of positive terms, no unwinding), vectorised over leaves and patterns."""
    R = np.asarray(fractions, float)
    m, d = R.shape
    if d == 0:
        return np.zeros((m, 1, 0))
    masks = np.arange(1 << d)
    sat = ((masks[:, None] >> np.arange(d)) & 1).astype(bool)  # (2^d, d): A_u per pattern
    other = ~np.eye(d, dtype=bool)  # other[i, u]: u ≠ i
    # e_j of R over P∖{i}, for every leaf, pattern and player i: (m, 2^d, d, d + 1)
    E = np.zeros((m, 1 << d, d, d + 1))
    E[..., 0] = 1.0
    for u in range(d):
        coef = (sat[:, u, None] & other[None, :, u])[None] * R[:, u, None, None]  # (m, 2^d, d)
        E[..., 1:] = E[..., 1:] + coef[..., None] * E[..., :-1]
    w = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])
    size = sat.sum(axis=1)[:, None] - sat  # |X| per (pattern, i)
    idx = size[:, :, None] - np.arange(d + 1)[None, None, :]
    K = (E * np.where(idx >= 0, w[np.clip(idx, 0, d - 1)], 0.0)[None]).sum(axis=3)
    failed = np.where((~sat[:, None, :] & other[None, :, :])[None], R[:, None, None, :], 1.0).prod(axis=3)  # Π_{N∖{i}} R
    sign = np.where(sat[None], 1.0 - R[:, None, :], -R[:, None, :])
    return np.asarray(values, float)[:, None, None] * K * failed * sign


def shapley_table(fractions: np.ndarray, value: float) -> np.ndarray:
    """(2^d, d) Shapley values of one leaf's game (``shapley_tables`` for a single leaf)."""
    R = np.asarray(fractions, float)
    return shapley_tables(R[None, :], np.array([value]))[0]


@dataclass(frozen=True)
class _LeafPath:
    features: tuple[int, ...]
    splits: tuple[tuple[tuple[int, bool], ...], ...]
    fractions: np.ndarray
    value: float


def _tree_table(structure: dict[str, Any], n_features: int) -> tuple[TreeTable, list[_LeafPath]]:
    """The tree's splits (its ``leaves`` left empty) and its leaves' paths, in leaf order."""
    splits: list[dict[str, Any]] = []
    leaves: list[_LeafPath] = []

    def walk(node: dict[str, Any], path: list[tuple[int, int, bool, float]]) -> None:
        if "leaf_value" in node:
            leaves.append(_leaf(path, float(node["leaf_value"])))
            return
        if node.get("decision_type", "<=") != "<=":
            raise UnsupportedBooster("tree_shap: categorical splits are not supported (LightGBM's pred_contrib handles them)")
        k = int(node["split_index"])
        splits.append(node)
        count = float(node["internal_count"])
        for child, left in ((node["left_child"], True), (node["right_child"], False)):
            c = float(child["leaf_count"] if "leaf_value" in child else child["internal_count"])
            walk(child, [*path, (int(node["split_feature"]), k, left, c / count)])

    walk(structure, [])
    order = sorted(splits, key=lambda s: int(s["split_index"]))
    if [int(s["split_index"]) for s in order] != list(range(len(order))):
        raise ModelError("tree_shap: a tree's split indices are not 0..k-1")
    feats = np.array([int(s["split_feature"]) for s in order], dtype=np.int64)
    if feats.size and feats.max() >= n_features:
        raise ModelError(f"tree_shap: a split uses feature {int(feats.max())} of a {n_features}-feature booster")
    return TreeTable(
        split_feature=feats,
        threshold=np.array([float(s["threshold"]) for s in order]),
        default_left=np.array([bool(s["default_left"]) for s in order]),
        missing=np.array([_MISSING[s["missing_type"]] for s in order], dtype=np.int8),
        leaves=(),
        features=np.unique(feats),
    ), leaves


def _leaf(path: list[tuple[int, int, bool, float]], value: float) -> _LeafPath:
    by_feature: dict[int, list[tuple[int, bool, float]]] = {}
    for f, k, left, r in path:
        by_feature.setdefault(f, []).append((k, left, r))
    features = tuple(by_feature)
    return _LeafPath(
        features=features,
        splits=tuple(tuple((k, left) for k, left, _ in by_feature[f]) for f in features),
        fractions=np.array([np.prod([r for _, _, r in by_feature[f]]) for f in features]),
        value=value,
    )


TABLE_BATCH_CELLS = 1 << 22
"""Most cells of the dynamic programme's working array per batch of leaves (32 MB)."""


def _leaf_tables(paths: list[_LeafPath]) -> list[LeafTable]:
    """Every leaf's table, leaves of the same path length computed together (``shapley_tables``)."""
    tables: list[np.ndarray | None] = [None] * len(paths)
    by_d: dict[int, list[int]] = {}
    for i, leaf in enumerate(paths):
        by_d.setdefault(len(leaf.features), []).append(i)
    for d, idx in by_d.items():
        step = max(1, TABLE_BATCH_CELLS // ((1 << d) * max(d, 1) * (d + 1)))
        for lo in range(0, len(idx), step):
            part = idx[lo:lo + step]
            R = np.array([paths[i].fractions for i in part]).reshape(len(part), d)
            for i, t in zip(part, shapley_tables(R, np.array([paths[i].value for i in part]))):
                tables[i] = t
    return [LeafTable(features=p.features, splits=p.splits, table=t,
                      expected=float(p.value * p.fractions.prod()) if p.fractions.size else p.value)
            for p, t in zip(paths, tables)]


@dataclass(frozen=True)
class TreeShapTables:
    """Every tree's tables for one booster (built once per booster: ``from_booster``)."""

    trees: tuple[TreeTable, ...]
    n_features: int
    expected_value: float

    @classmethod
    def from_booster(cls, booster: Any) -> TreeShapTables:
        """Tables of a binary or regression LightGBM booster (one tree per iteration, numerical splits)."""
        dump = booster.dump_model()
        if int(dump.get("num_tree_per_iteration", 1)) != 1:
            raise UnsupportedBooster("tree_shap: only one tree per iteration (binary or regression) is supported")
        n = int(dump["max_feature_idx"]) + 1
        if any(int(t["num_leaves"]) - 1 > MAX_SPLITS for t in dump["tree_info"]):
            raise UnsupportedBooster(f"tree_shap: a tree has more than {MAX_SPLITS} splits")
        parts = [_tree_table(t["tree_structure"], n) for t in dump["tree_info"]]
        paths = [leaf for _, tree_paths in parts for leaf in tree_paths]
        depths = [len(leaf.features) for leaf in paths]
        if depths and max(depths) > MAX_PATH_FEATURES:
            raise UnsupportedBooster(f"tree_shap: a leaf's path has {max(depths)} distinct features (most {MAX_PATH_FEATURES})")
        if sum(d << d for d in depths) > MAX_TABLE_CELLS:
            raise UnsupportedBooster(f"tree_shap: the tables would need more than {MAX_TABLE_CELLS} cells")
        leaves = iter(_leaf_tables(paths))
        trees = tuple(replace(tree, leaves=tuple(next(leaves) for _ in paths)) for tree, paths in parts)
        expected = float(sum(leaf.expected for t in trees for leaf in t.leaves))
        return cls(trees=trees, n_features=n, expected_value=expected)

    def contributions(self, Z: np.ndarray) -> np.ndarray:
        """(n, p + 1) contributions of rows ``Z`` (n, p) float64: per feature, then the bias."""
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_features:
            raise ModelError(f"tree_shap: rows must be (n, {self.n_features}); got {Z.shape}")
        cols = np.array(Z.T, order="C")  # (p, n) copy: one contiguous column per feature
        cols[np.abs(cols) <= ZERO_THRESHOLD] = 0.0  # as LightGBM reads rows: |x| <= 1e-35 is an absent (zero) value
        nan = np.isnan(cols)
        out = np.zeros((self.n_features + 1, Z.shape[0]))
        out[-1] = self.expected_value
        for tree in self.trees:
            if tree.split_feature.size:
                _add_tree(tree, cols, nan, out)
        return out.T.copy()


def _goes_left(tree: TreeTable, k: int, cols: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """LightGBM's NumericalDecision for split ``k`` on every row: (n,) bool."""
    f, thr, miss = tree.split_feature[k], tree.threshold[k], tree.missing[k]
    x, isnan = cols[f], nan[f]
    if miss == 2:  # NaN goes the default way
        return np.where(isnan, tree.default_left[k], x <= thr)
    x = np.where(isnan, 0.0, x)  # otherwise NaN counts as 0
    if miss == 1:  # zero (and NaN) go the default way
        return np.where(np.abs(x) <= ZERO_THRESHOLD, tree.default_left[k], x <= thr)
    return x <= thr


def _add_tree(tree: TreeTable, cols: np.ndarray, nan: np.ndarray, out: np.ndarray) -> None:
    n_splits = tree.split_feature.size
    code = np.zeros(cols.shape[1], dtype=np.int64)
    for k in range(n_splits):
        code |= _goes_left(tree, k, cols, nan).astype(np.int64) << k
    if (1 << n_splits) <= DENSE_PATTERNS:
        seen = np.zeros(1 << n_splits, dtype=bool)
        seen[code] = True
        patterns = np.flatnonzero(seen)
        where = np.empty(1 << n_splits, dtype=np.int64)
        where[patterns] = np.arange(patterns.size)
        inverse = where[code]
    else:
        patterns, inverse = np.unique(code, return_inverse=True)
    bits = ((patterns[:, None] >> np.arange(n_splits)) & 1).astype(bool)  # (m, splits)
    local = {int(f): i for i, f in enumerate(tree.features)}
    phi = np.zeros((patterns.size, tree.features.size))
    for leaf in tree.leaves:
        mask = np.zeros(patterns.size, dtype=np.int64)
        for j, path in enumerate(leaf.splits):
            ok = bits[:, path[0][0]] == path[0][1]
            for k, left in path[1:]:
                ok &= bits[:, k] == left
            mask |= ok.astype(np.int64) << j
        phi[:, [local[f] for f in leaf.features]] += leaf.table[mask]
    for i, f in enumerate(tree.features):
        out[f] += phi[:, i][inverse]
