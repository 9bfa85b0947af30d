"""The ingest job behind `iprisk patents ingest FILE --format cnipa|uspto-assignments --out DIR`.

Steps: read the register file as published (`cnipa` or `uspto`), derive the register events,
check every table against its contract (fast validator), write the Parquet tables the product
reads — all or nothing: every file is written into a staging folder inside ``DIR`` first and only
renamed into place when all are written — and a summary (``ingest_summary.json``).

Outputs in ``DIR`` (named after their contracts, so `iprisk validate DIR/<table>.parquet` finds
the contract by the file's stem):

- ``patent_events.parquet`` — both formats (contract ``patent_events``);
- ``cnipa_patents.parquet`` — cnipa (contract ``cnipa_patents``), the valid rows;
- ``rejects.csv`` — cnipa, when rows were quarantined: one line per row (source line, application
  number as read, every broken rule as 'column: rule (value)', the raw record);
- ``ingest_summary.json`` — counts per event type, rejects, decoding, timings.

One ``DIR`` holds one source's ingest: ingesting another format into a folder that holds one
raises `InputError` before anything is written; the same format replaces the previous files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from data_contracts import InputError, load_contract
from data_contracts.jsonable import jsonable
from data_contracts.validate import check_frame, raise_on
from pipelines.registers.cnipa import (
    CnipaReadConfig,
    cnipa_events,
    read_cnipa,
    reject_rows,
    rejects_file_frame,
    rows_per_status,
)
from pipelines.registers.events import event_counts
from pipelines.registers.uspto import UsptoReadConfig, read_uspto_assignments

FORMATS: tuple[str, ...] = ("cnipa", "uspto-assignments")
SUMMARY = "ingest_summary.json"
REJECTS = "rejects.csv"
EVENTS = "patent_events.parquet"


@dataclass(frozen=True)
class IngestConfig:
    """Per-source reader settings (see `CnipaReadConfig`, `UsptoReadConfig`)."""

    cnipa: CnipaReadConfig = field(default_factory=CnipaReadConfig)
    uspto: UsptoReadConfig = field(default_factory=UsptoReadConfig)


@dataclass
class IngestResult:
    """What one ingest wrote and counted."""

    format: str
    source_file: str
    out_dir: Path
    tables: dict[str, dict[str, Any]]
    events: pd.DataFrame
    rejects: pd.DataFrame | None
    details: dict[str, Any]
    seconds: float

    @property
    def event_counts(self) -> dict[str, int]:
        return event_counts(self.events)

    @property
    def rows_rejected(self) -> int:
        return 0 if self.rejects is None or not len(self.rejects) else int(self.rejects["source_line"].nunique())

    def as_dict(self) -> dict[str, Any]:
        return jsonable({
            "format": self.format, "source_file": self.source_file, "out_dir": str(self.out_dir),
            "tables": self.tables, "events": len(self.events),
            "event_counts": {k: v for k, v in self.event_counts.items() if v},
            "rows_rejected": self.rows_rejected,
            "rejects_file": str(self.out_dir / REJECTS) if self.rows_rejected else None,
            **self.details, "seconds": round(self.seconds, 3),
        })


def _check_out_dir(out: Path, fmt: str) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    summary = out / SUMMARY
    if summary.is_file():
        try:
            prev = json.loads(summary.read_text(encoding="utf-8")).get("format")
        except (OSError, ValueError):
            prev = None
        if prev and prev != fmt:
            raise InputError(f"--out {out}: holds an ingest of format '{prev}'; write '{fmt}' to another folder")


def _write_all(out: Path, frames: dict[str, pd.DataFrame], rejects: pd.DataFrame | None, summary: dict[str, Any]) -> None:
    """Write every file into a staging folder inside ``out``, then rename each into place."""
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".ingest-", dir=out))
    try:
        names = []
        for name, df in frames.items():
            df.to_parquet(stage / name, index=False)
            names.append(name)
        if rejects is not None and len(rejects):
            rejects_file_frame(rejects).to_csv(stage / REJECTS, index=False, encoding="utf-8", lineterminator="\n")
            names.append(REJECTS)
        (stage / SUMMARY).write_text(json.dumps(jsonable(summary), indent=1, ensure_ascii=False), encoding="utf-8")
        for name in names:  # data first, the summary last: a summary always describes files in place
            os.replace(stage / name, out / name)
        if REJECTS not in names and (out / REJECTS).exists():
            (out / REJECTS).unlink()  # from an earlier run of the same source
        os.replace(stage / SUMMARY, out / SUMMARY)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def ingest_register(path: str | Path, fmt: Literal["cnipa", "uspto-assignments"], out_dir: str | Path,
                    config: IngestConfig | None = None) -> IngestResult:
    """Read ``path`` in format ``fmt``, check it, write the product's tables into ``out_dir``."""
    t0 = time.perf_counter()
    cfg = config or IngestConfig()
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: unknown register format (use {', '.join(FORMATS)})")
    p, out = Path(path), Path(out_dir)
    _check_out_dir(out, fmt)
    frames: dict[str, pd.DataFrame] = {}
    rejects = None
    if fmt == "cnipa":
        read = read_cnipa(p, "cnipa_patents", cfg.cnipa)
        events = cnipa_events(read.table, read.source_file)
        raise_on(check_frame(read.table, load_contract("cnipa_patents")))
        frames["cnipa_patents.parquet"] = read.table
        rejects = read.rejects
        details: dict[str, Any] = {
            "rows_read": read.rows_read, "rows_valid": len(read.table), "decoding": read.decoding.as_dict(),
            "reject_reasons": read.as_dict()["reject_reasons"], "rejected_rows": reject_rows(rejects) if len(rejects) else [],
            "status": rows_per_status(read.table),
        }
        source_file = read.source_file
    else:
        u = read_uspto_assignments(p, cfg.uspto)
        events = u.events
        details = {k: v for k, v in u.as_dict().items() if k != "source_file"}
        source_file = u.source_file
    raise_on(check_frame(events, load_contract("patent_events")))
    frames[EVENTS] = events
    tables = {name.removesuffix(".parquet"): {"path": str(out / name), "rows": len(df)} for name, df in frames.items()}
    result = IngestResult(fmt, source_file, out, tables, events, rejects, details, 0.0)
    result.seconds = time.perf_counter() - t0
    _write_all(out, frames, rejects, result.as_dict())
    result.seconds = time.perf_counter() - t0
    return result
