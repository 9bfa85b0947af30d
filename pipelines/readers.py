"""Readers: Parquet, CSV and ARFF files into contract-shaped frames; a loan-book directory into tables.

Errors a user can cause (missing directory or file, unreadable file, missing columns) raise
`InputError` naming the file / table and what is wrong.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from data_contracts import CORE_TABLES, Contract, InputError, load_contract
from data_contracts.frames import coerce_frame

SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".arff")
BOOK_TABLES: tuple[str, ...] = (*CORE_TABLES, "ground_truth")
"""Tables of a loan-book directory; ground_truth is optional (only the demo book has it)."""

_ATTRIBUTE = re.compile(
    r"""^@attribute\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s{]+)\s*(.*)$""", re.IGNORECASE
)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1]
        name = re.sub(r"\\(.)", r"\1", name)
    return name.strip()


def _nominal_values(spec: str) -> list[str] | None:
    spec = spec.strip()
    if not (spec.startswith("{") and spec.endswith("}")):
        return None
    row = next(csv.reader([spec[1:-1]], skipinitialspace=True, quotechar="'"))
    return [v.strip() for v in row]


def read_arff(path: str | Path) -> pd.DataFrame:
    """Read a dense ARFF file: attribute names from the header, ``?`` as NaN.

    numeric/real/integer attributes → float64; nominal attributes whose values are all integers
    (e.g. ``{0,1}``) → int64 (``Int64`` when a value is missing); other nominal/string attributes
    → str; date attributes → str (the contract's coercion parses them). Quoted names and values
    (single or double quotes) are handled; ``%`` comments are skipped.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"ARFF file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise InputError(f"cannot read ARFF file {p}: {e}") from e
    names: list[str] = []
    kinds: list[str] = []
    nominals: list[list[str] | None] = []
    data_at = None
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        low = line.lower()
        if low.startswith("@attribute"):
            m = _ATTRIBUTE.match(line)
            if not m:
                raise InputError(f"{p.name}: line {i + 1}: cannot parse attribute declaration {line[:80]!r}")
            names.append(_unquote(m.group(1)))
            spec = m.group(2).strip()
            nom = _nominal_values(spec)
            nominals.append(nom)
            kinds.append("nominal" if nom is not None else spec.split()[0].lower() if spec else "string")
        elif low.startswith("@data"):
            data_at = i + 1
            break
    if data_at is None or not names:
        raise InputError(f"{p.name}: not an ARFF file (no @attribute / @data section)")
    body = "\n".join(ln for ln in lines[data_at:] if ln.strip() and not ln.lstrip().startswith("%"))
    if body.lstrip().startswith("{"):
        raise InputError(f"{p.name}: sparse ARFF data is not supported")
    dtypes = {n: ("float64" if k in ("numeric", "real", "integer") else "str") for n, k in zip(names, kinds)}
    try:
        df = pd.read_csv(
            io.StringIO(body), header=None, names=names, na_values=["?"], keep_default_na=False,
            quotechar="'", skipinitialspace=True, dtype=dtypes, engine="c",
        )
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(f"{p.name}: cannot parse ARFF data: {e}") from e
    for n, nom in zip(names, nominals):
        if nom is None:
            continue
        col = df[n].str.strip().str.strip("\"'")
        if nom and all(re.fullmatch(r"[-+]?\d+", v) for v in nom):
            num = pd.to_numeric(col, errors="coerce")
            df[n] = num.astype("int64") if num.notna().all() else num.astype("Int64")
        else:
            df[n] = col
    return df


def read_raw(path: str | Path) -> pd.DataFrame:
    """A file as read, by suffix (.parquet, .csv, .arff), without contract coercion."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if not p.is_file():
        raise InputError(f"not a file: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix == ".csv":
            return pd.read_csv(p, keep_default_na=True)
        if suffix == ".arff":
            return read_arff(p)
    except InputError:
        raise
    except Exception as e:  # pyarrow / parser errors: the file is not what its suffix says
        raise InputError(f"cannot read {p}: {type(e).__name__}: {str(e)[:200]}") from e
    raise InputError(f"{p.name}: unsupported file type '{p.suffix}' (use {', '.join(SUFFIXES)})")


def read_table(path: str | Path, contract: Contract | str) -> pd.DataFrame:
    """A file (.parquet/.csv/.arff) coerced to ``contract`` (a `Contract` or a shipped table name)."""
    c = load_contract(contract) if isinstance(contract, (str, Path)) else contract
    df = read_raw(path)
    try:
        return coerce_frame(df, c)
    except InputError as e:
        raise InputError(f"{Path(path).name}: {e}") from e


def book_files(directory: str | Path) -> dict[str, Path]:
    """The loan book's files by table: ``<table>.parquet`` (else ``.csv``); ground_truth optional."""
    d = Path(directory)
    if not d.exists():
        raise InputError(f"loan-book directory not found: {d}")
    if not d.is_dir():
        raise InputError(f"not a directory: {d} (expected a loan-book directory with {', '.join(CORE_TABLES)})")
    found: dict[str, Path] = {}
    for t in BOOK_TABLES:
        for suffix in (".parquet", ".csv"):
            f = d / f"{t}{suffix}"
            if f.is_file():
                found[t] = f
                break
    absent = [t for t in CORE_TABLES if t not in found]
    if absent:
        raise InputError(
            f"loan-book directory {d} lacks table file(s): "
            + ", ".join(f"{t}.parquet" for t in absent) + " (or .csv)"
        )
    return found


def read_book_raw(directory: str | Path) -> dict[str, pd.DataFrame]:
    """The loan book's tables as read (no coercion), for validators that report every problem."""
    return {t: read_raw(f) for t, f in book_files(directory).items()}


def read_book(directory: str | Path) -> dict[str, pd.DataFrame]:
    """The loan book's tables (core tables, and ground_truth when present), coerced to their contracts."""
    return {t: read_table(f, load_contract(t)) for t, f in book_files(directory).items()}
