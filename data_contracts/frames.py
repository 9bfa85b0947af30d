"""Bring a data frame into its contract's shape: contract names, contract types, no crashes.

`coerce_frame` renames source columns (``source_name`` → ``name``), checks that required columns
are present and casts each column to its contract type:

=========  ==========================================
integer    pandas ``Int64`` (nullable)
number     ``float64``
date       ``datetime64`` (the column's ``format`` when it has one, strictly; else ISO 8601 first, then any
           format pandas can parse)
boolean    pandas ``boolean`` (nullable); accepts True/False, 1/0 and the words in ``TRUE_WORDS``/``FALSE_WORDS``
string     pandas ``str``
category   pandas ``str`` (allowed values are a validator's business, not the caster's)
=========  ==========================================

A value that cannot be cast ("abc" in a number column, "maybe" in a boolean one, 2.5 in an integer
one) does not crash: it becomes null in the typed frame and is recorded as a `TypeIssue` (row
positions and raw values), which the validators report under rule ``"type"``. Issues travel with the
frame in ``frame.attrs["type_issues"]`` so a frame coerced once can be validated later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.contract import Column, Contract
from data_contracts.errors import InputError

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
BOOLEAN_WORDS = TRUE_WORDS | FALSE_WORDS
ATTRS_KEY = "type_issues"
NULL_WORDS = frozenset({"", "?", "nan", "none", "null", "na", "n/a", "nat"})


@dataclass(frozen=True)
class TypeIssue:
    """Values of one column that could not be cast: row positions (0-based) and the raw values."""

    column: str
    positions: tuple[int, ...]
    raw_values: tuple[Any, ...]


def required_columns(contract: Contract) -> tuple[str, ...]:
    """Columns a frame must carry: every non-nullable column (nullable ones may be absent → all null)."""
    return tuple(c.name for c in contract.columns if not c.nullable)


def rename_to_contract(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Rename source columns to contract names (exact match first, then trimmed/case-insensitive)."""
    mapping: dict[str, str] = {}
    present = {str(c): c for c in df.columns}
    loose = {str(c).strip().lower(): c for c in df.columns}
    for col in contract.columns:
        if col.name in present or not col.source_name:
            continue
        src = present.get(col.source_name)
        if src is None:
            src = loose.get(col.source_name.strip().lower())
        if src is not None:
            mapping[src] = col.name
    return df.rename(columns=mapping) if mapping else df


def missing_columns(df: pd.DataFrame, contract: Contract) -> list[str]:
    """Required contract columns absent from ``df`` (after renaming)."""
    have = set(map(str, df.columns))
    return [c for c in required_columns(contract) if c not in have]


def is_null_value(v: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and blank / '?' / 'NA'-like strings."""
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip().lower() in NULL_WORDS
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _null_mask(s: pd.Series, words: frozenset[str] = NULL_WORDS) -> np.ndarray:
    mask = s.isna().to_numpy(dtype=bool, na_value=True)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        low = s.astype("str").str.strip().str.lower()
        mask = mask | low.isin(list(words)).to_numpy(dtype=bool, na_value=True)
    return mask


def _cast_numeric(s: pd.Series, integer: bool) -> tuple[pd.Series, np.ndarray]:
    null = _null_mask(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        num = s.astype("float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce").astype("float64")
    else:
        src = s.where(~null, None)
        num = pd.to_numeric(src.astype("str").str.strip().where(~null, None), errors="coerce").astype("float64")
    vals = num.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~null & np.isnan(vals)
    if integer:
        with np.errstate(invalid="ignore"):
            frac = ~np.isnan(vals) & ((~np.isfinite(vals)) | (np.floor(vals) != vals))
        bad |= frac
        vals = np.where(bad | null, np.nan, vals)
        out = pd.Series(pd.array(np.where(np.isnan(vals), 0, vals).astype("int64"), dtype="Int64"), index=s.index)
        out[np.isnan(vals)] = pd.NA
        return out, bad
    vals = np.where(bad | null, np.nan, vals)
    return pd.Series(vals, index=s.index, dtype="float64"), bad


def _cast_date(s: pd.Series, fmt: str | None = None) -> tuple[pd.Series, np.ndarray]:
    null = _null_mask(s)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out, np.zeros(len(s), dtype=bool)
    src = s.where(~null, None)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        src = src.astype(object)
    if fmt is not None:  # the source's own format, strictly: another form is a type error
        text = src.astype("str").str.strip().where(~null, None)
        out = pd.to_datetime(text, errors="coerce", format=fmt).astype("datetime64[us]")
        return out, ~null & out.isna().to_numpy()
    out = pd.to_datetime(src, errors="coerce", format="ISO8601")
    retry = ~null & out.isna().to_numpy()
    if retry.any():
        again = pd.to_datetime(src[retry].astype("str"), errors="coerce", format="mixed")
        out = out.copy()
        out[retry] = again
    bad = ~null & out.isna().to_numpy()
    return out, bad


def _cast_boolean(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    null = _null_mask(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)
    low = s.where(~null, None).astype("str").str.strip().str.lower()
    true = low.isin(list(TRUE_WORDS)).to_numpy(dtype=bool, na_value=False)
    false = low.isin(list(FALSE_WORDS)).to_numpy(dtype=bool, na_value=False)
    bad = ~null & ~true & ~false
    arr = pd.array(true, dtype="boolean")
    arr[~(true | false)] = pd.NA
    return pd.Series(arr, index=s.index), bad


def _cast_string(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    null = _null_mask(s, frozenset({""}))  # in text columns only a blank is empty
    if pd.api.types.is_float_dtype(s.dtype):  # 12.0 read from CSV as float → "12"
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(vals) & (np.floor(vals) == vals)
        src = pd.Series([str(int(v)) if w else str(v) for v, w in zip(vals, whole)], index=s.index)
    else:
        src = s
    out = src.astype("str").where(~null, None).astype("str")
    return out, np.zeros(len(s), dtype=bool)


def cast_column(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Cast one column to its contract type; returns (typed series, bool mask of values that failed)."""
    if col.type in ("integer", "number"):
        return _cast_numeric(s, integer=col.type == "integer")
    if col.type == "date":
        return _cast_date(s, col.format)
    if col.type == "boolean":
        return _cast_boolean(s)
    return _cast_string(s)


_EMPTY_DTYPE = {"integer": "Int64", "number": "float64", "date": "datetime64[us]", "boolean": "boolean",
                "string": "str", "category": "str"}


def coerce_with_issues(
    df: pd.DataFrame, contract: Contract, *, strict: bool = True
) -> tuple[pd.DataFrame, dict[str, TypeIssue]]:
    """Typed copy of ``df`` plus the cast failures by column.

    ``strict``: raise `InputError` when required columns are missing; otherwise leave them out (the
    validators then report rule ``missing_column``). Absent nullable columns are added as all-null.
    Extra columns are kept untouched, after the contract's columns.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{contract.table}: expected a pandas DataFrame, got {type(df).__name__}")
    df = rename_to_contract(df, contract)
    missing = missing_columns(df, contract)
    if missing and strict:
        raise InputError(
            f"{contract.table}: missing required column(s) {', '.join(missing)} "
            f"(rule 'missing_column'; found: {', '.join(map(str, list(df.columns)[:12]))}"
            f"{', ...' if len(df.columns) > 12 else ''})"
        )
    prior: dict[str, TypeIssue] = dict(df.attrs.get(ATTRS_KEY) or {})
    out: dict[str, pd.Series] = {}
    issues: dict[str, TypeIssue] = {}
    for col in contract.columns:
        if col.name not in df.columns:
            if col.nullable:
                out[col.name] = pd.Series(pd.array([None] * len(df), dtype=_EMPTY_DTYPE[col.type]), index=df.index)
            continue
        raw = df[col.name]
        if isinstance(raw, pd.DataFrame):
            raise InputError(f"{contract.table}: column '{col.name}' appears more than once")
        typed, bad = cast_column(raw, col)
        out[col.name] = typed
        if bad.any():
            pos = np.flatnonzero(bad)
            issues[col.name] = TypeIssue(col.name, tuple(int(p) for p in pos), tuple(raw.iloc[pos].tolist()))
        if col.name in prior:  # cast failures from an earlier coercion (now nulls) stay failures
            old = prior[col.name]
            new = issues.get(col.name)
            typed_null = typed.isna().to_numpy()
            pos = {p: v for p, v in zip(old.positions, old.raw_values) if p < len(typed) and typed_null[p]}
            if new:
                pos.update(zip(new.positions, new.raw_values))
            keys = sorted(pos)
            if keys:
                issues[col.name] = TypeIssue(col.name, tuple(keys), tuple(pos[k] for k in keys))
    known = set(out)
    for extra in df.columns:
        if extra not in known and not (isinstance(extra, str) and extra in missing):
            out[extra] = df[extra]
    typed_df = pd.DataFrame(out, index=df.index)
    typed_df.attrs[ATTRS_KEY] = issues
    return typed_df, issues


def coerce_frame(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Contract-shaped, contract-typed copy of ``df``; raises `InputError` on missing required columns.

    Cast failures become nulls and are kept in ``result.attrs["type_issues"]`` ({column: TypeIssue})
    for the validators, which report them under rule ``"type"``.
    """
    typed, _ = coerce_with_issues(df, contract, strict=True)
    return typed


def type_issues(df: pd.DataFrame) -> dict[str, TypeIssue]:
    """Cast failures recorded on a frame by `coerce_frame` ({} when none or not coerced)."""
    return dict(df.attrs.get(ATTRS_KEY) or {})
