"""Draft a contract from a table: the data scientist edits a YAML file rather than writing one.

``draft_contract(path, target)`` reads a CSV, Parquet or ARFF file as published and proposes, per
column: a name (the source name made a snake_case identifier; the original kept as
``source_name``), a type, nullability, the observed range widened by a margin (with a note),
allowed values for low-cardinality text, identifier-like columns as keys (kept out of the features),
a description placeholder, and a *proposed* risk direction for every numeric column with the
evidence behind it (Spearman ρ with the target and a permutation p-value, models/direction_evidence.py).

Proposed directions are written as YAML comments (``# proposed risk_direction: riskier …``):
nothing the data suggested is enforced until someone who knows what the column means confirms it
by uncommenting the line. The draft validates the file it came from with zero failures and
``iprisk train`` accepts it unchanged; ``render_yaml`` gives the text, ``write_draft`` writes it
atomically.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from data_contracts.contract import Contract
from data_contracts.errors import InputError
from models.direction_evidence import rank_evidence
from pipelines.readers import read_raw
from pipelines.report import atomic_write

FORMATS = {".csv": "csv", ".parquet": "parquet", ".arff": "arff"}


@dataclass(frozen=True)
class DraftConfig:
    """How a contract is drafted from a table."""

    range_margin: float = 0.5
    """Observed range widened by this share of its width on each side (a non-negative column keeps min 0)."""
    max_categories: int = 20
    """Text columns with at most this many distinct values (and fewer than half the rows) get ``allowed``."""
    id_unique_share: float = 0.95
    """Text columns with at least this share of distinct values are identifiers (a unique, complete one the key)."""
    alpha: float = 0.05
    """A risk direction is proposed when its one-sided permutation p-value is below this."""
    n_permutations: int = 999
    """Shuffles of the target behind each proposed direction's p-value."""
    version: str = "0.1.0"
    """Version of a drafted contract."""


@dataclass
class DraftColumn:
    name: str
    type: str
    nullable: bool
    description: str
    source_name: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Draft:
    table: str
    file_format: str
    target: str
    primary_key: list[str]
    columns: list[DraftColumn]
    source: str
    rows: int
    defaults: int
    version: str = "0.1.0"


def snake(name: str) -> str:
    """A column name as a snake_case identifier: 'net profit / total assets' → 'net_profit_total_assets'."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    s = s or "column"
    return f"c_{s}" if s[0].isdigit() else s[:60].rstrip("_")


def _outward(v: float, down: bool) -> float:
    """``v`` rounded outward to 4 significant digits (so the range still holds the observed value)."""
    if v == 0 or not math.isfinite(v):
        return float(v)
    step = 10 ** (math.floor(math.log10(abs(v))) - 3)
    return float(f"{(math.floor if down else math.ceil)(v / step) * step:.12g}")


def _target_flags(raw: pd.Series, name: str, source: str) -> np.ndarray:
    y = pd.to_numeric(raw.astype("float64") if pd.api.types.is_bool_dtype(raw) else raw, errors="coerce")
    if y.isna().any() or not y.isin((0, 1)).all():
        bad = raw[y.isna() | ~y.isin((0, 1))].unique()[:5].tolist()
        raise InputError(f"{source}: target column '{name}': rule 'target_0_1' broken; the target must hold 0/1 (or true/false) "
                         f"in every row, e.g. {bad}")
    return y.to_numpy(dtype="float64")


def draft_contract(path: str | Path, target: str, config: DraftConfig | None = None) -> Draft:
    """Propose a contract for the table in ``path`` whose default flag is column ``target``."""
    cfg = config or DraftConfig()
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(f"{p.name}: cannot draft a contract from '{p.suffix}' files (use {', '.join(FORMATS)})")
    df = read_raw(p)
    if target not in df.columns:
        raise InputError(f"{p.name}: target column '{target}' not found (columns: {', '.join(map(str, df.columns[:8]))}, …)")
    if len(df) < 2:
        raise InputError(f"{p.name}: {len(df)} row(s); a contract needs a table to learn from")
    y = _target_flags(df[target], target, p.name)

    names: dict[str, str] = {}
    for c in df.columns:
        base = snake(c) if c != target else snake(target)
        n, k = base, 2
        while n in names.values():
            n, k = f"{base}_{k}", k + 1
        names[str(c)] = n
    cols, keys, numeric = [], [], []
    for c in df.columns:
        col = _draft_column(df[c], str(c), names[str(c)], cfg, is_target=(c == target))
        if "identifier" in " ".join(col.notes) and col.type == "string" and not col.nullable and df[c].is_unique:
            keys.append(col.name)
        if col.type in ("integer", "number") and c != target and col.name not in keys:
            numeric.append(str(c))
        cols.append(col)
    if numeric:
        ev = rank_evidence(df[numeric].apply(pd.to_numeric, errors="coerce"), y, cfg.n_permutations).set_index("feature")
        by_name = {col.source_name or col.name: col for col in cols}
        for c in numeric:
            e = ev.loc[c]
            col = by_name[c]
            if not np.isfinite(e["rho"]):
                col.notes.append("risk direction: none proposed (constant where known)")
            elif min(e["p_up"], e["p_down"]) < cfg.alpha:
                word = "riskier" if e["p_up"] < e["p_down"] else "safer"
                col.notes.append(f"proposed risk_direction: {word}  (Spearman rho {e['rho']:+.3f} with {target}, permutation p "
                                 f"{min(e['p_up'], e['p_down']):.4f}, n {int(e['n'])}); uncomment to confirm")
            else:
                col.notes.append(f"risk direction: none proposed (Spearman rho {e['rho']:+.3f}, permutation p "
                                 f"{min(e['p_up'], e['p_down']):.3f} ≥ {cfg.alpha})")
    return Draft(snake(p.stem), fmt, names[target], keys, cols, p.name, len(df), int(y.sum()), cfg.version)


def _draft_column(s: pd.Series, source: str, name: str, cfg: DraftConfig, *, is_target: bool) -> DraftColumn:
    nullable = bool(s.isna().any())
    known = s.dropna()
    col = DraftColumn(name=name, type="string", nullable=nullable, description=f"TODO: describe '{source}' (drafted from the data)",
                      source_name=source if source != name else None)
    if is_target:
        col.type, col.min, col.max = ("boolean", None, None) if pd.api.types.is_bool_dtype(s) else ("integer", 0.0, 1.0)
        col.description = f"TODO: describe the target '{source}' (1 = default)"
        col.notes.append("target: 1 = default, 0 = no default")
        return col
    if pd.api.types.is_bool_dtype(s):
        col.type = "boolean"
        return col
    num = s if pd.api.types.is_numeric_dtype(s) else None
    if num is None and s.dtype == object and len(known):
        parsed = pd.to_numeric(known, errors="coerce")
        if parsed.notna().all():
            num = pd.to_numeric(s, errors="coerce")
    if num is not None:
        col.type = "integer" if pd.api.types.is_integer_dtype(num) else "number"
        x = pd.to_numeric(num, errors="coerce").dropna().astype("float64")
        x = x[np.isfinite(x)]
        if len(x):
            lo, hi = float(x.min()), float(x.max())
            pad = cfg.range_margin * (hi - lo) if hi > lo else max(abs(lo), 1.0) * cfg.range_margin
            mn = max(lo - pad, 0.0) if lo >= 0 else lo - pad
            col.min, col.max = _outward(mn, True), _outward(hi + pad, False)
            if col.type == "integer":
                col.min, col.max = float(math.floor(col.min)), float(math.ceil(col.max))
            col.notes.append(f"observed [{lo:.6g}, {hi:.6g}]; range widened by {cfg.range_margin:.0%} of its width each side"
                             f"{' (kept non-negative)' if lo >= 0 else ''}: narrow it to what the field can take")
        if col.type == "integer" and s.is_unique and not nullable and len(s) > cfg.max_categories:
            col.notes.append("identifier-like (unique integers): if it is a row id, move it to primary_key")
        return col
    if len(known):
        as_date = pd.to_datetime(known.astype(str), errors="coerce", format="ISO8601")
        if as_date.notna().all():
            col.type = "date"
            col.notes.append(f"observed {as_date.min().date()} … {as_date.max().date()}")
            return col
    distinct = known.astype(str).nunique()
    if len(known) and distinct / len(known) >= cfg.id_unique_share:
        col.notes.append(f"identifier-like ({distinct:,} distinct of {len(known):,}): kept out of the features")
    elif 0 < distinct <= cfg.max_categories and distinct < 0.5 * len(known):
        col.type = "category"
        col.allowed = sorted(known.astype(str).unique().tolist())
        col.notes.append(f"{distinct} distinct values seen; add any the data can take")
    return col


def _scalar(v: Any) -> str:
    """A value as a YAML scalar (floats keep a dot so YAML 1.1 reads them as floats)."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return yaml.safe_dump(v).splitlines()[0]


def render_yaml(d: Draft) -> str:
    """The draft as contract YAML, notes and proposed risk directions as comments."""
    out = [
        f"# Contract DRAFTED from {d.source} ({d.rows:,} rows, {d.defaults:,} defaults in '{d.target}') by `iprisk contract draft`.",
        "# Edit it: describe every column, narrow the ranges, confirm (uncomment) or delete each proposed risk_direction.",
        "# Proposed directions come from this very file; a direction you confirm becomes a monotone constraint of the PD model.",
        f"table: {d.table}",
        f"version: {_scalar(d.version)}",
        "kind: byod",
        f"description: {_scalar(f'TODO: describe the table (drafted from {d.source})')}",
        f"primary_key: [{', '.join(d.primary_key)}]",
        f"target: {d.target}",
        f"file_format: {d.file_format}",
        "columns:",
    ]
    for c in d.columns:
        for note in c.notes:
            if not note.startswith("proposed risk_direction"):
                out.append(f"  # {c.name}: {note}")
        out.append(f"- name: {c.name}")
        out.append(f"  type: {c.type}")
        out.append(f"  nullable: {'true' if c.nullable else 'false'}")
        if c.source_name:
            out.append(f"  source_name: {_scalar(c.source_name)}")
        out.append(f"  description: {_scalar(c.description)}")
        if c.min is not None:
            out.append(f"  min: {_scalar(float(c.min))}")
        if c.max is not None:
            out.append(f"  max: {_scalar(float(c.max))}")
        if c.allowed:
            out.append("  allowed: [" + ", ".join(_scalar(a) for a in c.allowed) + "]")
        for note in c.notes:
            if note.startswith("proposed risk_direction"):
                word = note.split()[2]
                out.append(f"  # risk_direction: {word}   # PROPOSED{note[len('proposed risk_direction: ') + len(word):]}")
    return "\n".join(out) + "\n"


def write_draft(d: Draft, out: str | Path) -> Path:
    """Write the draft's YAML atomically, after checking it loads as a contract."""
    text = render_yaml(d)
    check_draft(text, str(out))
    return atomic_write(Path(out), text)


def check_draft(text: str, where: str = "draft") -> Contract:
    """The drafted YAML parsed as a contract (a failure here is a bug in the drafter, named as such)."""
    try:
        return Contract.model_validate(yaml.safe_load(text))
    except Exception as e:  # pydantic's ValidationError: the draft would not load
        raise InputError(f"{where}: the drafted contract does not load ({type(e).__name__}: {str(e)[:300]})") from e
