"""The batch validation job: run the contracts' Great Expectations suites over a loan book or one file,
write Data Docs (HTML) and ``summary.json``, and say whether the data may be used.

    validate_book("build/demo", "build/demo/validation")  -> ValidationReport
    validate_file("x/1year.arff", "polish_bankruptcy", None) -> ValidationReport

The report directory defaults to ``<book>/validation/`` (or ``<file's folder>/validation/``); when
that folder is read-only (e.g. shared source data) it falls back to ``./validation/<name>/``.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import CONTRACTS_DIR, CORE_TABLES, Contract, InputError, Violation, load_contract
from data_contracts.gx_suite import GxRunner
from data_contracts.validate import raise_on
from pipelines.readers import BOOK_TABLES, read_book_raw, read_raw

SUMMARY_NAME = "summary.json"


@dataclass
class TableSummary:
    """One table's result: rows, expectations evaluated, success and its violations."""

    table: str
    rows: int
    expectations: int
    success: bool
    violations: list[Violation]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "rows": self.rows, "expectations_evaluated": self.expectations,
                "success": self.success, "seconds": round(self.seconds, 3),
                "violations": [v.as_dict() for v in self.violations]}


@dataclass
class ValidationReport:
    """Outcome of a validation run. ``html_path``: Data Docs index; ``json_path``: summary.json."""

    source: str
    tables: list[TableSummary]
    html_path: Path | None
    json_path: Path
    seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "success": self.success,
            "seconds": round(self.seconds, 3),
            "html_report": str(self.html_path) if self.html_path else None,
            "tables": [t.as_dict() for t in self.tables],
            "violations": [v.as_dict() for v in self.violations],
        }

    def raise_on_violations(self) -> None:
        """Raise `ContractViolation` (naming table, column, rule, values) unless the data passed."""
        raise_on(self.violations)


def shipped_contracts() -> tuple[str, ...]:
    """Table names with a contract shipped in data_contracts/."""
    return tuple(sorted(p.stem for p in CONTRACTS_DIR.glob("*.yaml")))


def _read_only(d: Path) -> bool:
    probe = d
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        mode = probe.stat().st_mode
    except OSError:
        return True
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(probe, os.W_OK)


def default_report_dir(path: str | Path) -> Path:
    """``<dir>/validation`` for a book directory, ``<file's folder>/validation`` for a file; when that
    place is read-only, ``./validation/<name>``."""
    p = Path(path)
    base = p if p.is_dir() else p.parent
    if _read_only(base):
        return Path.cwd() / "validation" / (p.name if p.is_dir() else p.stem)
    return base / "validation"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".summary-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run(
    frames: Mapping[str, pd.DataFrame], contracts: Mapping[str, Contract], report_dir: Path, source: str,
    *, docs: bool = True,
) -> ValidationReport:
    t0 = time.perf_counter()
    report_dir.mkdir(parents=True, exist_ok=True)
    runner = GxRunner(report_dir if docs else None)
    summaries: list[TableSummary] = []
    for name, contract in contracts.items():
        t = time.perf_counter()
        res = runner.validate(frames[name], contract, frames)
        summaries.append(TableSummary(name, res.rows, res.evaluated, res.success, res.violations,
                                      time.perf_counter() - t))
    html = runner.build_docs() if docs else None
    report = ValidationReport(
        source=source, tables=summaries, html_path=html, json_path=report_dir / SUMMARY_NAME,
        seconds=time.perf_counter() - t0, violations=[v for s in summaries for v in s.violations],
    )
    _write_json(report.json_path, report.as_dict())
    return report


def validate_tables(
    tables: Mapping[str, pd.DataFrame], report_dir: str | Path, *, source: str = "<in memory>", docs: bool = True
) -> ValidationReport:
    """Validate an in-memory loan book (core tables required, ground_truth optional) with GX."""
    absent = [t for t in CORE_TABLES if t not in tables]
    if absent:
        raise InputError(f"loan book is missing table(s) {', '.join(absent)}")
    contracts = {t: load_contract(t) for t in BOOK_TABLES if t in tables}
    return _run(tables, contracts, Path(report_dir), source, docs=docs)


def validate_book(directory: str | Path, report_dir: str | Path | None = None, *, docs: bool = True) -> ValidationReport:
    """Validate every table of a loan-book directory (core tables + ground_truth if present),
    with foreign keys and cross-table date orders; writes Data Docs and summary.json."""
    d = Path(directory)
    frames = read_book_raw(d)
    out = Path(report_dir) if report_dir else default_report_dir(d)
    return validate_tables(frames, out, source=str(d), docs=docs)


def validate_file(
    path: str | Path, contract: Contract | str | Path | None = None, report_dir: str | Path | None = None,
    *, docs: bool = True,
) -> ValidationReport:
    """Validate one file against ``contract`` (a Contract, a shipped table name or a YAML path; default:
    the contract named by the file's stem, e.g. ``loans.parquet`` → loans). Cross-table rules that
    need other tables are skipped."""
    p = Path(path)
    if contract is None:
        if p.stem not in shipped_contracts():
            raise InputError(
                f"{p.name}: no contract named '{p.stem}'; pass --contract (shipped: {', '.join(shipped_contracts())})"
            )
        contract = p.stem
    c = contract if isinstance(contract, Contract) else load_contract(contract)
    frame = read_raw(p, c.source_format)
    out = Path(report_dir) if report_dir else default_report_dir(p)
    return _run({c.table: frame}, {c.table: c}, out, str(p), docs=docs)


def validate_path(path: str | Path, contract: str | Path | None = None, report_dir: str | Path | None = None) -> ValidationReport:
    """A loan-book directory → `validate_book`; a file → `validate_file`."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"path not found: {p}")
    if p.is_dir():
        if contract is not None:
            raise InputError(f"{p}: --contract applies to a single file, not a loan-book directory")
        return validate_book(p, report_dir)
    return validate_file(p, contract, report_dir)
