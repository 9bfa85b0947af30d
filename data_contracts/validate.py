"""The fast validator: contract rules as vectorised pandas checks (frames) and plain Python (records).

Used by serving (one request = one record, tens of microseconds) and by small batches. The batch
enforcer with reports is the Great Expectations suite in `data_contracts.gx_suite`; both report
the same `Violation` names:

- table: the contract's table; column: the column, or the rule's columns comma-joined;
- rule: one of `RULES` ("not_null", "type", "min", "max", "allowed", "pattern", "unique",
  "foreign_key", "date_order", "column_order", "sum_at_most", "required_if", "missing_column");
- count: offending rows; examples: a few offending values (a {column: value} dict for multi-column
  rules); row_ids: the primary-key values of those rows ("a/b" for compound keys), else the index.

Semantics (shared with the GX suite): nulls pass every rule but ``not_null`` and ``required_if``;
a value that cannot be cast to its type breaks ``type`` only; ``date_order`` compares every pair of
non-null dates in the listed order; ``sum_at_most`` treats nulls as 0 and allows `SUM_TOLERANCE`;
``unique`` ignores rows whose key is entirely null.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.contract import (
    CORE_TABLES,
    EVENT_TABLES,
    ColumnOrderRule,
    Contract,
    DateOrderRule,
    ForeignKeyRule,
    RequiredIfRule,
    SumAtMostRule,
    UniqueRule,
    load_contract,
)
from data_contracts.errors import ContractViolation, InputError, Violation
from data_contracts.frames import ATTRS_KEY, BOOLEAN_WORDS, NULL_WORDS, TRUE_WORDS, TypeIssue, coerce_with_issues
from data_contracts.jsonable import jsonable

RULES: tuple[str, ...] = (
    "missing_column", "type", "not_null", "min", "max", "allowed", "pattern", "unique", "foreign_key",
    "date_order", "column_order", "sum_at_most", "required_if",
)
ROW_RULES = frozenset({"type", "not_null", "min", "max", "allowed", "pattern", "date_order", "column_order",
                       "sum_at_most", "required_if", "missing_column"})
"""Rules decided by one row alone (what `row_verdicts` checks); unique and foreign_key need the table."""
SUM_TOLERANCE = 1e-9
MAX_EXAMPLES = 10


# --------------------------------------------------------------------------------------------
# shared helpers (also used by the GX suite to build identical violations)
# --------------------------------------------------------------------------------------------
plain = jsonable  # the one conversion (data_contracts.jsonable); kept as this module's name for it


def row_ids(df: pd.DataFrame, contract: Contract, positions: Sequence[int]) -> tuple[Any, ...]:
    """Identify rows by primary key ("a/b" for compound keys) when present and non-null, else by index."""
    positions = list(positions)[:MAX_EXAMPLES]
    pk = [k for k in contract.primary_key if k in df.columns]
    out: list[Any] = []
    index = df.index
    for p in positions:
        if pk and len(pk) == len(contract.primary_key):
            vals = [plain(df[k].iloc[p]) for k in pk]
            if all(v is not None for v in vals):
                out.append(vals[0] if len(vals) == 1 else "/".join(map(str, vals)))
                continue
        out.append(plain(index[p]))
    return tuple(out)


def row_examples(df: pd.DataFrame, columns: Sequence[str], positions: Sequence[int]) -> tuple[Any, ...]:
    """Offending values: the value itself for one column, a {column: value} dict for several."""
    positions = list(positions)[:MAX_EXAMPLES]
    if len(columns) == 1:
        s = df[columns[0]]
        return tuple(plain(s.iloc[p]) for p in positions)
    return tuple({c: plain(df[c].iloc[p]) for c in columns} for p in positions)


def make_violation(
    df: pd.DataFrame, contract: Contract, column: str, rule: str, positions: Iterable[int],
    examples: Sequence[Any] | None = None, example_columns: Sequence[str] | None = None,
) -> Violation | None:
    """A `Violation` for the given 0-based row positions of ``df`` (None when there are none)."""
    pos = sorted({int(p) for p in positions})
    if not pos:
        return None
    if examples is None:
        cols = [c for c in (example_columns or column.split(",")) if c in df.columns]
        examples = row_examples(df, cols, pos) if cols else ()
    return Violation(
        table=contract.table, column=column, rule=rule, count=len(pos),
        examples=tuple(examples)[:MAX_EXAMPLES], row_ids=row_ids(df, contract, pos),
    )


def sort_key(v: Violation) -> tuple[str, int, str]:
    return (v.table, RULES.index(v.rule) if v.rule in RULES else len(RULES), v.column)


def raise_on(violations: Sequence[Violation]) -> None:
    """Raise `ContractViolation` listing every violation, if there is any."""
    if violations:
        raise ContractViolation(list(violations))


# --------------------------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Failure:
    column: str
    rule: str
    mask: np.ndarray
    examples: tuple[Any, ...] | None = None
    example_columns: tuple[str, ...] | None = None


def _ref_name(name: str) -> tuple[str | None, str]:
    if "." in name:
        t, c = name.split(".", 1)
        return t, c
    return None, name


def resolve_date_column(
    df: pd.DataFrame, name: str, join: str | None, tables: Mapping[str, pd.DataFrame] | None
) -> pd.Series | None:
    """The dates a `date_order` rule names: a column of ``df``, or ``table.col`` joined on ``join``.
    None when the referenced table / join key is not available."""
    table, col = _ref_name(name)
    if table is None:
        return df[col] if col in df.columns else None
    if not tables or table not in tables or not join or join not in df.columns:
        return None
    ref = tables[table]
    if col not in ref.columns or join not in ref.columns:
        return None
    lookup = ref.drop_duplicates(subset=[join]).set_index(join)[col]
    if not pd.api.types.is_datetime64_any_dtype(lookup.dtype):
        lookup = pd.to_datetime(lookup, errors="coerce", format="mixed")
    return df[join].map(lookup)


def _date_order_mask(series: list[pd.Series]) -> np.ndarray:
    n = len(series[0])
    bad = np.zeros(n, dtype=bool)
    vals = [s.to_numpy(dtype="datetime64[us]") if len(s) else np.array([], "datetime64[us]") for s in series]
    for i in range(len(vals)):
        for j in range(i + 1, len(vals)):
            a, b = vals[i], vals[j]
            ok = ~np.isnat(a) & ~np.isnat(b)
            bad |= ok & (a > b)
    return bad


def _typed_tables(tables: Mapping[str, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name, t in (tables or {}).items():
        if ATTRS_KEY in t.attrs:  # coerced already
            out[name] = t
            continue
        try:
            out[name], _ = coerce_with_issues(t, load_contract(name), strict=False)
        except Exception:  # an unknown table name: use as given
            out[name] = t
    return out


def _failures(
    df: pd.DataFrame, issues: Mapping[str, TypeIssue], contract: Contract,
    tables: Mapping[str, pd.DataFrame] | None, *, table_rules: bool,
) -> list[_Failure]:
    """Every check's boolean mask of offending rows, in contract order."""
    n = len(df)
    out: list[_Failure] = []
    for col in contract.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        isnull = s.isna().to_numpy(dtype=bool, na_value=True)
        type_bad = np.zeros(n, dtype=bool)
        issue = issues.get(col.name)
        if issue:
            type_bad[list(issue.positions)] = True
            out.append(_Failure(col.name, "type", type_bad, examples=issue.raw_values))
        if not col.nullable:
            out.append(_Failure(col.name, "not_null", isnull & ~type_bad))
        if col.type in ("integer", "number"):
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if col.min is not None:
                    out.append(_Failure(col.name, "min", ~isnull & (vals < col.min)))
                if col.max is not None:
                    out.append(_Failure(col.name, "max", ~isnull & (vals > col.max)))
        if col.allowed:
            out.append(_Failure(col.name, "allowed", ~isnull & ~s.isin(list(col.allowed)).to_numpy(dtype=bool, na_value=False)))
        if col.pattern:
            hit = s.astype("str").str.contains(col.pattern, regex=True).to_numpy(dtype=bool, na_value=False)
            out.append(_Failure(col.name, "pattern", ~isnull & ~hit))
    for rule in contract.rules:
        if isinstance(rule, DateOrderRule):
            series = [resolve_date_column(df, c, rule.join, tables) for c in rule.columns]
            if any(x is None for x in series):
                continue
            frame = pd.DataFrame({c: x.to_numpy() for c, x in zip(rule.columns, series)}, index=df.index)
            mask = _date_order_mask(series)
            out.append(_Failure(",".join(rule.columns), "date_order", mask,
                                examples=row_examples(frame, list(rule.columns), np.flatnonzero(mask))))
        elif isinstance(rule, ColumnOrderRule):
            if not {rule.lower, rule.upper} <= set(df.columns):
                continue
            lo = df[rule.lower].to_numpy(dtype="float64", na_value=np.nan)
            hi = df[rule.upper].to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                mask = ~np.isnan(lo) & ~np.isnan(hi) & (lo > hi)
            out.append(_Failure(f"{rule.lower},{rule.upper}", "column_order", mask))
        elif isinstance(rule, SumAtMostRule):
            if not set(rule.columns) <= set(df.columns):
                continue
            total = sum_columns(df, rule.columns)
            out.append(_Failure(",".join(rule.columns), "sum_at_most", total > rule.limit + SUM_TOLERANCE))
        elif isinstance(rule, RequiredIfRule):
            if rule.when not in df.columns:
                continue
            cols = [c for c in rule.columns if c in df.columns]
            when = df[rule.when].astype("boolean")
            is_true = when.fillna(False).to_numpy(dtype=bool)
            is_false = (~when).fillna(False).to_numpy(dtype=bool)
            nulls = np.column_stack([df[c].isna().to_numpy(dtype=bool, na_value=True) for c in cols]) if cols \
                else np.zeros((n, 0), dtype=bool)
            mask = is_true & nulls.any(axis=1)
            if rule.null_otherwise:
                mask |= is_false & (~nulls).any(axis=1)
            out.append(_Failure(",".join((rule.when, *rule.columns)), "required_if", mask,
                                example_columns=(rule.when, *cols)))
        elif table_rules and isinstance(rule, UniqueRule):
            if not set(rule.columns) <= set(df.columns):
                continue
            keys = df[list(rule.columns)]
            all_null = keys.isna().all(axis=1).to_numpy()
            dup = keys.duplicated(keep=False).to_numpy() & ~all_null
            out.append(_Failure(",".join(rule.columns), "unique", dup))
        elif table_rules and isinstance(rule, ForeignKeyRule):
            if rule.column not in df.columns or not tables or rule.ref_table not in tables:
                continue
            ref = tables[rule.ref_table]
            if rule.ref_column not in ref.columns:
                continue
            s = df[rule.column]
            known = pd.Index(ref[rule.ref_column].dropna().astype("str").unique())
            mask = s.notna().to_numpy() & ~s.astype("str").isin(known).to_numpy(dtype=bool, na_value=False)
            out.append(_Failure(rule.column, "foreign_key", mask))
    return out


def sum_columns(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Row-wise sum with nulls as 0, float64 of shape (n,)."""
    return np.nansum(np.column_stack([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in columns]), axis=1) \
        if columns else np.zeros(len(df))


def _prepare(df: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, dict[str, TypeIssue], list[str]]:
    typed, issues = coerce_with_issues(df, contract, strict=False)
    missing = [c.name for c in contract.columns if c.name not in typed.columns]
    return typed, issues, missing


def missing_violation(df: pd.DataFrame, contract: Contract, missing: Sequence[str]) -> Violation:
    return Violation(contract.table, ",".join(missing), "missing_column", len(df), tuple(missing), ())


def check_frame(
    df: pd.DataFrame, contract: Contract, tables: Mapping[str, pd.DataFrame] | None = None
) -> list[Violation]:
    """Every broken rule of ``df`` (raw or coerced) against ``contract``; [] when it complies.

    ``tables`` (by table name) lets foreign keys and cross-table date orders be checked; rules
    whose referenced table is absent are skipped.
    """
    typed, issues, missing = _prepare(df, contract)
    out: list[Violation] = []
    if missing:
        out.append(missing_violation(typed, contract, missing))
    refs = _typed_tables(tables)
    for f in _failures(typed, issues, contract, refs, table_rules=True):
        v = make_violation(typed, contract, f.column, f.rule, np.flatnonzero(f.mask), f.examples, f.example_columns)
        if v is not None:
            out.append(v)
    return sorted(out, key=sort_key)


def row_verdicts(df: pd.DataFrame, contract: Contract) -> np.ndarray:
    """Bool array (len(df),): True where the row passes every column-level and row-level rule
    (type, not_null, min, max, allowed, pattern, in-table date_order, column_order, sum_at_most,
    required_if). Unique and foreign keys are table-level and not part of a row's verdict."""
    typed, issues, missing = _prepare(df, contract)
    ok = np.full(len(typed), not missing, dtype=bool)
    for f in _failures(typed, issues, contract, None, table_rules=False):
        ok &= ~f.mask
    return ok


ROW_VIOLATION_COLUMNS = ("position", "column", "rule", "value")


def row_violations(df: pd.DataFrame, contract: Contract, *, unique: bool = True) -> pd.DataFrame:
    """One line per (row, broken rule): ``position`` (0-based row of ``df``), ``column`` (the rule's
    columns comma-joined), ``rule`` and ``value`` (the offending value as text: the raw value for
    rule ``type``, ``{column: value}`` pairs for multi-column rules). For quarantining bad rows with
    their reasons; row-level rules as in `row_verdicts`, plus ``unique`` (every row sharing a key)
    when ``unique``. Foreign keys need other tables and are not checked. Sorted by row, then rule."""
    typed, issues, missing = _prepare(df, contract)
    lines: list[tuple[int, str, str, str]] = []
    if missing:
        lines += [(p, ",".join(missing), "missing_column", "") for p in range(len(typed))]
    for f in _failures(typed, issues, contract, None, table_rules=False):
        pos = np.flatnonzero(f.mask)
        if not len(pos):
            continue
        raw = dict(zip(issues[f.column].positions, issues[f.column].raw_values)) if f.rule == "type" else {}
        cols = [c for c in (f.example_columns or f.column.split(",")) if c in typed.columns]
        for p in pos:
            if f.rule == "type":
                value = raw.get(int(p))
            elif len(cols) == 1:
                value = plain(typed[cols[0]].iloc[p])
            else:
                value = {c: plain(typed[c].iloc[p]) for c in cols}
            lines.append((int(p), f.column, f.rule, "" if value is None else str(value)))
    if unique:
        for rule in contract.rules:
            if isinstance(rule, UniqueRule) and set(rule.columns) <= set(typed.columns):
                keys = typed[list(rule.columns)]
                dup = keys.duplicated(keep=False).to_numpy() & ~keys.isna().all(axis=1).to_numpy()
                for p in np.flatnonzero(dup):
                    vals = [plain(keys[c].iloc[p]) for c in rule.columns]
                    lines.append((int(p), ",".join(rule.columns), "unique", "/".join(map(str, vals))))
    order = {r: i for i, r in enumerate(RULES)}
    lines.sort(key=lambda x: (x[0], order.get(x[2], len(RULES)), x[1]))
    return pd.DataFrame(lines, columns=list(ROW_VIOLATION_COLUMNS)).astype({"position": "int64"})


def check_tables(tables: Mapping[str, pd.DataFrame]) -> list[Violation]:
    """Validate a whole loan book: each core table (and ``ground_truth`` when given) against its
    contract, with foreign keys and cross-table date orders. Missing core tables raise `InputError`."""
    absent = [t for t in CORE_TABLES if t not in tables]
    if absent:
        raise InputError(f"loan book is missing table(s) {', '.join(absent)} (needs {', '.join(CORE_TABLES)})")
    typed = _typed_tables(tables)
    out: list[Violation] = []
    for name in (*CORE_TABLES, *EVENT_TABLES, "ground_truth"):
        if name in tables:
            out.extend(check_frame(tables[name], load_contract(name), typed))
    return out


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------
_MISSING = object()
_BAD = object()


_TEXT_NULL_WORDS = frozenset({""})
"""Text (string / category) columns: a value is null when it is blank, i.e. `_is_null` strips it
(Python's `str.strip()`: every character with `str.isspace()`) down to one of these words."""


@cache
def not_blank_pattern() -> str:
    """The regular expression a text value matches exactly when `check_record` does not read it as
    null (it holds a character `str.strip()` keeps), written so that Python's `re`, ECMA-262 (JSON
    Schema's `pattern`) and Rust's `regex` (pydantic) read it alike: a negated class of `\\uXXXX`
    ranges. Derived from `str.isspace` over all of Unicode, so it follows `_TEXT_NULL_WORDS`."""
    codes = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    ranges: list[list[int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    parts = [f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges]
    return "[^" + "".join(parts) + "]"


def _is_null(v: Any, words: frozenset[str] = NULL_WORDS) -> bool:
    if v is None:
        return True
    t = type(v)
    if t is float:
        return v != v
    if t is str:
        return v.strip().lower() in words
    if t is int or t is bool:
        return False
    if v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _to_number(v: Any) -> Any:
    t = type(v)
    if t is float or t is int:
        return float(v)
    if t is bool or isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return _BAD
    return _BAD


def _to_integer(v: Any) -> Any:
    x = _to_number(v)
    if x is _BAD or not math.isfinite(x) or x != math.floor(x):
        return _BAD
    return x


def _date_caster(fmt: str | None) -> Callable[[Any], Any]:
    """`_to_date`, or for a column with a source ``format`` a strict parse of text in that format."""
    if fmt is None:
        return _to_date

    def cast(v: Any) -> Any:
        if isinstance(v, str):
            try:
                return datetime.strptime(v.strip(), fmt)
            except ValueError:
                return _BAD
        return _to_date(v)

    return cast


def _to_date(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).to_pydatetime()
    if isinstance(v, str):
        s = v.strip()
        try:
            d = datetime.fromisoformat(s)
            return d.replace(tzinfo=None) if d.tzinfo else d
        except ValueError:
            ts = pd.to_datetime(s, errors="coerce", format="mixed")
            return _BAD if pd.isna(ts) else ts.to_pydatetime().replace(tzinfo=None)
    return _BAD


def _to_boolean(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, str):
        w = v.strip().lower()
        return (w in TRUE_WORDS) if w in BOOLEAN_WORDS else _BAD
    if isinstance(v, (int, float, np.integer, np.floating)):
        return bool(v) if v in (0, 1) else _BAD
    return _BAD


def _to_text(v: Any) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and v == math.floor(v):
        return str(int(v))
    return str(v)


_CASTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_integer, "number": _to_number, "date": _to_date, "boolean": _to_boolean,
    "string": _to_text, "category": _to_text,
}


@dataclass(frozen=True)
class _ColumnCheck:
    name: str
    cast: Callable[[Any], Any]
    nullable: bool
    lo: float | None
    hi: float | None
    allowed: frozenset[str] | None
    pattern: re.Pattern[str] | None
    null_words: frozenset[str]


@dataclass(frozen=True)
class _CompiledContract:
    table: str
    key: tuple[str, ...]
    columns: tuple[_ColumnCheck, ...]
    date_orders: tuple[tuple[str, ...], ...]
    column_orders: tuple[tuple[str, str], ...]
    sums: tuple[tuple[tuple[str, ...], float], ...]
    required_ifs: tuple[tuple[str, tuple[str, ...], bool], ...]


_COMPILED: dict[int, tuple[Contract, _CompiledContract]] = {}


def compile_record_checks(contract: Contract) -> _CompiledContract:
    """The contract as plain-Python checks for `check_record` (cached per contract object)."""
    hit = _COMPILED.get(id(contract))
    if hit is not None and hit[0] is contract:
        return hit[1]
    cols = tuple(
        _ColumnCheck(
            c.name, _date_caster(c.format) if c.type == "date" else _CASTERS[c.type], c.nullable, c.min, c.max,
            frozenset(c.allowed) if c.allowed else None, re.compile(c.pattern) if c.pattern else None,
            _TEXT_NULL_WORDS if c.type in ("string", "category") else NULL_WORDS,
        )
        for c in contract.columns
    )
    compiled = _CompiledContract(
        table=contract.table,
        key=tuple(contract.primary_key),
        columns=cols,
        date_orders=tuple(r.columns for r in contract.rules
                          if isinstance(r, DateOrderRule) and not any("." in c for c in r.columns)),
        column_orders=tuple((r.lower, r.upper) for r in contract.rules if isinstance(r, ColumnOrderRule)),
        sums=tuple((r.columns, r.limit) for r in contract.rules if isinstance(r, SumAtMostRule)),
        required_ifs=tuple((r.when, r.columns, r.null_otherwise) for r in contract.rules
                           if isinstance(r, RequiredIfRule)),
    )
    _COMPILED[id(contract)] = (contract, compiled)
    return compiled


def check_record(record: Mapping[str, Any], contract: Contract) -> list[Violation]:
    """Every broken row-level rule of one record (a mapping column → value); [] when it complies.

    Absent keys count as null for nullable columns and as ``missing_column`` otherwise; extra keys
    are ignored. Cross-table rules (foreign keys, dates in other tables) and ``unique`` need tables
    and are left to `check_frame` / `check_tables`.
    """
    cc = compile_record_checks(contract)
    table = cc.table
    rid: tuple[Any, ...] = ()
    if cc.key:
        kv = [record.get(k) for k in cc.key]
        if all(k is not None for k in kv):
            rid = (kv[0] if len(kv) == 1 else "/".join(map(str, kv)),)
    out: list[Violation] = []
    typed: dict[str, Any] = {}
    missing: list[str] = []
    for ch in cc.columns:
        name = ch.name
        raw = record.get(name, _MISSING)
        if raw is _MISSING:
            if not ch.nullable:
                missing.append(name)
            typed[name] = None
            continue
        if _is_null(raw, ch.null_words):
            typed[name] = None
            if not ch.nullable:
                out.append(Violation(table, name, "not_null", 1, (plain(raw),), rid))
            continue
        v = ch.cast(raw)
        if v is _BAD:
            typed[name] = None
            out.append(Violation(table, name, "type", 1, (raw,), rid))
            continue
        typed[name] = v
        if ch.lo is not None and v < ch.lo:
            out.append(Violation(table, name, "min", 1, (raw,), rid))
        if ch.hi is not None and v > ch.hi:
            out.append(Violation(table, name, "max", 1, (raw,), rid))
        if ch.allowed is not None and v not in ch.allowed:
            out.append(Violation(table, name, "allowed", 1, (raw,), rid))
        if ch.pattern is not None and ch.pattern.search(v) is None:
            out.append(Violation(table, name, "pattern", 1, (raw,), rid))
    if missing:
        out.insert(0, Violation(table, ",".join(missing), "missing_column", 1, tuple(missing), rid))
    for cols in cc.date_orders:
        vals = [typed[c] for c in cols]
        present = [d for d in vals if d is not None]
        if any(present[i] > present[i + 1] for i in range(len(present) - 1)):
            out.append(Violation(table, ",".join(cols), "date_order", 1,
                                 ({c: plain(typed[c]) for c in cols},), rid))
    for lo, hi in cc.column_orders:
        a, b = typed[lo], typed[hi]
        if a is not None and b is not None and a > b:
            out.append(Violation(table, f"{lo},{hi}", "column_order", 1, ({lo: plain(a), hi: plain(b)},), rid))
    for cols, limit in cc.sums:
        total = 0.0
        for c in cols:
            x = typed[c]
            if x is not None:
                total += x
        if total > limit + SUM_TOLERANCE:
            out.append(Violation(table, ",".join(cols), "sum_at_most", 1, ({c: typed[c] for c in cols},), rid))
    for when, cols, null_otherwise in cc.required_ifs:
        w = typed[when]
        if w is None:
            continue
        nulls = [typed[c] is None for c in cols]
        if (w and any(nulls)) or (not w and null_otherwise and not all(nulls)):
            out.append(Violation(table, ",".join((when, *cols)), "required_if", 1,
                                 ({c: plain(typed[c]) for c in (when, *cols)},), rid))
    return out
