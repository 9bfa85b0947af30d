"""Readers: Parquet, CSV and ARFF files into contract-shaped frames; a loan-book directory into tables.

Errors a user can cause (missing directory or file, unreadable file, missing columns) raise
`InputError` naming the file / table and what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import CORE_TABLES, EVENT_TABLES, Contract, InputError, load_contract
from data_contracts.contract import SourceFormat
from data_contracts.frames import coerce_frame

SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".arff")
BOOK_TABLES: tuple[str, ...] = (*CORE_TABLES, *EVENT_TABLES, "ground_truth")
"""Tables of a loan-book directory; the dated-event tables and ground_truth are optional (the demo
book has them)."""

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


# --------------------------------------------------------------------------------------------
# text files as published (register extracts): line endings, mixed encodings, missing tokens
# --------------------------------------------------------------------------------------------
def _plausible(ch: str) -> bool:
    """A character a register extract (Chinese, Japanese, Korean, Latin, technical text) may hold."""
    o = ord(ch)
    if o < 0x80:
        return ch.isprintable() or ch in "\t\r\n"
    return (
        0xA0 <= o <= 0xBF or o in (0xD7, 0xF7)  # Latin-1 punctuation (no-break space, ±, °), × ÷
        or 0x370 <= o <= 0x3FF  # Greek (formulas)
        or 0x2000 <= o <= 0x22FF  # general punctuation, letterlike symbols, arrows, maths
        or 0x2E80 <= o <= 0x30FF  # CJK radicals, symbols and punctuation, kana
        or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF  # CJK ideographs
        or 0xAC00 <= o <= 0xD7AF  # Hangul
        or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF  # CJK compatibility, full-width forms
    )


def _implausible(text: str) -> int:
    return sum(1 for ch in text if not _plausible(ch)) + 2 * text.count("\ufffd")


def _decode_mixed(line: bytes, primary: str, fallback: str | None) -> str:
    """``line`` in ``primary``; each span ``primary`` cannot read is read as one ``fallback``
    character (1, 2 or 4 bytes, GB18030's lengths) when that gives a plausible one, else U+FFFD."""
    out: list[str] = []
    i = 0
    while i < len(line):
        try:
            out.append(line[i:].decode(primary))
            break
        except UnicodeDecodeError as e:
            out.append(line[i:i + e.start].decode(primary))
            j = i + e.start
            for n in (2, 4, 1):
                if not fallback or j + n > len(line):
                    continue
                try:
                    ch = line[j:j + n].decode(fallback)
                except UnicodeDecodeError:
                    continue
                if ch and all(_plausible(c) for c in ch):
                    out.append(ch)
                    i = j + n
                    break
            else:
                out.append("\ufffd")
                i = i + e.end
    return "".join(out)


@dataclass(frozen=True)
class DecodeReport:
    """How a text file was decoded: line endings seen, and the lines not read in the main encoding.

    ``fallback_lines``: 1-based lines read wholly in the fallback encoding (the main one failed or
    gave characters a register would not hold); ``mixed_lines``: lines read in the main encoding
    with spans in the fallback; ``replaced``: characters neither could read (now U+FFFD)."""

    encoding: str
    fallback_encoding: str | None
    lines: int
    crlf: int
    lf: int
    cr: int
    fallback_lines: tuple[int, ...]
    mixed_lines: tuple[int, ...]
    replaced: int

    def as_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "fallback_encoding": self.fallback_encoding, "lines": self.lines,
                "line_endings": {"crlf": self.crlf, "lf": self.lf, "cr": self.cr},
                "fallback_lines": list(self.fallback_lines), "mixed_lines": list(self.mixed_lines),
                "replaced_characters": self.replaced}


def decode_lines(raw: bytes, encoding: str = "utf-8", fallback: str | None = None) -> tuple[str, DecodeReport]:
    """Decode a text file line by line, robust to a few lines (or bytes) in a legacy encoding.

    Per line (ending kept): ``encoding`` strictly, if that reads it into plausible characters (see
    `_plausible`); else the better of ``fallback`` strictly and a mixed reading (``encoding`` with
    the unreadable spans in ``fallback``), judged by the number of implausible characters, ties to
    the mixed reading. A GB18030 line that happens to be valid UTF-8 (``英`` = D3 A2 reads as
    Cyrillic ``Ӣ``) is caught by the plausibility test. Returns the text and a `DecodeReport`.
    """
    codecs.lookup(encoding)
    if fallback:
        codecs.lookup(fallback)
    parts: list[str] = []
    fb: list[int] = []
    mixed: list[int] = []
    crlf = lf = cr = 0
    lines = raw.splitlines(keepends=True)
    for n, line in enumerate(lines, start=1):
        if line.endswith(b"\r\n"):
            crlf += 1
        elif line.endswith(b"\n"):
            lf += 1
        elif line.endswith(b"\r"):
            cr += 1
        try:
            text = line.decode(encoding)
            if not any(not _plausible(c) for c in text):
                parts.append(text)
                continue
        except UnicodeDecodeError:
            text = None
        candidates: list[tuple[int, int, str, str]] = []
        if text is not None:
            candidates.append((_implausible(text), 0, text, "primary"))
        else:
            m = _decode_mixed(line, encoding, fallback)
            candidates.append((_implausible(m), 0, m, "mixed"))
        if fallback:
            try:
                f = line.decode(fallback)
                candidates.append((_implausible(f), 1, f, "fallback"))
            except UnicodeDecodeError:
                pass
        _, _, best, how = min(candidates, key=lambda c: (c[0], c[1]))
        if how == "fallback":
            fb.append(n)
        elif how == "mixed":
            mixed.append(n)
        parts.append(best)
    text = "".join(parts)
    report = DecodeReport(encoding, fallback, len(lines), crlf, lf, cr, tuple(fb), tuple(mixed), text.count("\ufffd"))
    return text, report


@dataclass(frozen=True)
class PublishedTable:
    """A delimited file read as published: every field as text (``None`` where the source's missing
    tokens stand), the 1-based physical line each record starts on, and records whose field count
    differs from the header's (kept apart, not in ``frame``)."""

    frame: pd.DataFrame
    lines: tuple[int, ...]
    header: tuple[str, ...]
    ragged: tuple[tuple[int, int, str], ...]  # (line, fields, raw text)
    decoding: DecodeReport


def read_published(path: str | Path, fmt: SourceFormat) -> PublishedTable:
    """Read a CSV-like file with its contract's `SourceFormat` (encoding with fallback, delimiter,
    missing tokens). Raises `InputError` naming the file when it cannot be read or has no header."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {p}" if not p.exists() else f"not a file: {p}")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {p}: {e}") from e
    raw = raw.removeprefix(codecs.BOM_UTF8)
    text, report = decode_lines(raw, fmt.encoding, fmt.fallback_encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{p.name}: empty file (no header line)") from None
    except csv.Error as e:
        raise InputError(f"{p.name}: line 1: cannot parse the header: {e}") from e
    header = [h.strip() for h in header]
    rows: list[list[str]] = []
    starts: list[int] = []
    ragged: list[tuple[int, int, str]] = []
    prev = reader.line_num
    src_lines = [ln.rstrip("\r\n") for ln in io.StringIO(text, newline="").readlines()]
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != len(header):
                ragged.append((start, len(rec), "\n".join(src_lines[start - 1:prev])))
                continue
            rows.append(rec)
            starts.append(start)
    except csv.Error as e:
        raise InputError(f"{p.name}: line {reader.line_num}: cannot parse: {e}") from e
    na = set(fmt.na_values)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if na and len(frame):
        frame = frame.mask(frame.isin(na), None)
    return PublishedTable(frame, tuple(starts), tuple(header), tuple(ragged), report)


def read_raw(path: str | Path, source_format: SourceFormat | None = None) -> pd.DataFrame:
    """A file as read, by suffix (.parquet, .csv, .arff), without contract coercion. A .csv with a
    ``source_format`` (a contract's, e.g. a register extract) is read as published: encodings,
    delimiter and missing tokens as it says, every field as text; records with the wrong number of
    fields raise `InputError` (the register ingest quarantines them instead)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if not p.is_file():
        raise InputError(f"not a file: {p}")
    suffix = p.suffix.lower()
    if suffix == ".csv" and source_format is not None:
        pub = read_published(p, source_format)
        if pub.ragged:
            line, n, _ = pub.ragged[0]
            raise InputError(f"{p.name}: line {line}: {n} fields where the header has {len(pub.header)} "
                             f"(rule 'field_count'; {len(pub.ragged)} such record(s))")
        return pub.frame
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
    df = read_raw(path, c.source_format)
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
