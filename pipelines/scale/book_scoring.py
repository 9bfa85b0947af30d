"""A loan book scored partition by partition — in this process or on a Dask cluster — into a folder
of Parquet partitions and a manifest.

The book is split by loan into contiguous partitions of `scale.partition_loans` loans, each
carrying its own pledges, patents and firms (`pipelines.batch_scoring.chunks`), so a partition is
scored exactly as the single-process path scores it: the same rows, the same figures. The driver
resolves the model versions once and ships that one bundle to the workers (pinned: a promotion
during the run changes nothing). Each worker writes `part-NNNNN.parquet` atomically; the driver
writes `manifest.json` last, atomically, once every partition is in and the row counts add up:

    {"format": "iprisk-scores", "complete": true, "rows": …, "partitions": [{file, rows, first_loan,
     last_loan, sha256}], "output_checksum": …, "model_versions": {…}, "input": {path, sha256},
     "reasons": …, "scheduler": …, "workers": …, "seconds": …}

A folder without a manifest is incomplete, whatever partitions it holds. A worker that dies
mid-run loses its partition to another worker (Dask retries it); a partition that kills
`scale.allowed_failures` workers fails the job with a ClusterError and no manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.errors import ClusterError, InputError
from pipelines.batch_scoring import REASON_COLUMNS, SCORING_TABLES, chunks, score_tables
from pipelines.report import atomic_write
from pipelines.scale.cluster import ScaleConfig, Scheduler, dask_client, worker_count

MANIFEST = "manifest.json"
FORMAT = "iprisk-scores"
PART_GLOB = "part-*.parquet"


# -- checksums -----------------------------------------------------------------------------------
def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row over every column (pandas' row hash), (n,)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64)


def frame_checksum(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows' hashes in order: equal for the same rows however they were partitioned."""
    return hashlib.sha256(row_hashes(frame).tobytes()).hexdigest()


def input_fingerprint(path: Path) -> dict[str, Any]:
    """SHA-256 of the input: of each scoring table's file for a book folder, of the file otherwise."""
    path = Path(path)
    files = [f for t in SCORING_TABLES for f in (path / f"{t}.parquet", path / f"{t}.csv") if f.is_file()] if path.is_dir() else [path]
    total = hashlib.sha256()
    per = {}
    for f in files:
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        per[f.name] = h.hexdigest()
        total.update(f"{f.name}:{per[f.name]}\n".encode())
    return {"path": str(path.resolve()), "sha256": total.hexdigest(), "files": per}


# -- one partition (runs on a worker) ------------------------------------------------------------
def score_partition(bundle: Any, tables: Mapping[str, pd.DataFrame], reasons: int, out_dir: str, index: int) -> dict[str, Any]:
    """Score one partition and write `part-{index:05d}.parquet` atomically → its row count, first and
    last loan, file checksum and row hashes."""
    frame = score_tables(bundle, dict(tables), reasons=reasons)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    data = buf.getvalue()
    name = f"part-{index:05d}.parquet"
    atomic_write(Path(out_dir) / name, data)
    ids = frame["loan_id"]
    return {"index": index, "file": name, "rows": len(frame), "first_loan": str(ids.iloc[0]) if len(ids) else None,
            "last_loan": str(ids.iloc[-1]) if len(ids) else None, "sha256": hashlib.sha256(data).hexdigest(),
            "row_hashes": row_hashes(frame)}


# -- the output folder ---------------------------------------------------------------------------
def prepare_output(out_dir: Path) -> None:
    """Make `out_dir` ready for a run: refuse a folder holding anything but a previous run's files;
    remove the old manifest first (from here on the folder is incomplete), then old partitions."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"score output {out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    foreign = [p.name for p in out_dir.iterdir()
               if p.name != MANIFEST and not p.match(PART_GLOB) and not (p.name.startswith(".part-") and p.name.endswith(".tmp"))]
    if foreign:
        raise InputError(f"score output {out_dir}: holds files that are not a scoring run's ({', '.join(sorted(foreign)[:5])}); "
                         "use an empty or new folder")
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for p in out_dir.iterdir():
        p.unlink()


def read_scores(out_dir: Path) -> pd.DataFrame:
    """The scores of a complete run (partitions in order); InputError without a manifest or when a
    partition is missing or changed."""
    out_dir = Path(out_dir)
    m = out_dir / MANIFEST
    if not m.is_file():
        raise InputError(f"score output {out_dir}: no {MANIFEST}, so the run did not complete; score again")
    man = json.loads(m.read_text())
    frames = []
    for p in man["partitions"]:
        f = out_dir / p["file"]
        data = f.read_bytes() if f.is_file() else b""
        if hashlib.sha256(data).hexdigest() != p["sha256"]:
            raise InputError(f"score output {out_dir}: partition {p['file']} is missing or differs from the manifest's checksum")
        frames.append(pd.read_parquet(io.BytesIO(data)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# -- the job -------------------------------------------------------------------------------------
def _partitions(tables: Mapping[str, pd.DataFrame], size: int) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    return enumerate(chunks(dict(tables), size))


def score_book(
    tables: Mapping[str, pd.DataFrame],
    bundle: Any,
    out_dir: Path,
    scheduler: Scheduler,
    cfg: ScaleConfig,
    *,
    reasons: int = REASON_COLUMNS,
    input_info: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    client: Any | None = None,
) -> dict[str, Any]:
    """Score `tables` with `bundle` into `out_dir` (partitions + manifest) → the manifest.

    `scheduler` "process" scores the partitions here one after another; otherwise on a Dask
    cluster (`client`, or one opened for `scheduler`). `progress(rows)` after each partition."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    n_loans = len(tables["loans"])
    prepare_output(out_dir)
    if scheduler.kind == "process" and client is None:
        results = []
        for k, part in _partitions(tables, cfg.partition_loans):
            results.append(score_partition(bundle, part, reasons, str(out_dir), k))
            if progress is not None:
                progress(results[-1]["rows"])
        workers = 1
    elif client is not None:
        results, workers = _on_cluster(client, tables, bundle, out_dir, cfg, reasons, progress)
    else:
        with dask_client(scheduler, cfg) as c:
            results, workers = _on_cluster(c, tables, bundle, out_dir, cfg, reasons, progress)
    results.sort(key=lambda r: r["index"])
    rows = sum(r["rows"] for r in results)
    if [r["index"] for r in results] != list(range(len(results))) or rows != n_loans:
        raise ClusterError(f"score output {out_dir}: partitions hold {rows:,} rows of {n_loans:,} loans "
                           f"({len(results)} partitions); no manifest written")
    digest = hashlib.sha256()
    for r in results:
        digest.update(r.pop("row_hashes").tobytes())
    manifest = {
        "format": FORMAT, "complete": True, "rows": rows, "partitions": [{k: v for k, v in r.items() if k != "index"} for r in results],
        "output_checksum": digest.hexdigest(), "model_versions": {str(k): str(v) for k, v in bundle.versions.items()},
        "input": dict(input_info or {}), "reasons": reasons, "scheduler": str(scheduler if client is None else "client"),
        "workers": workers, "partition_loans": cfg.partition_loans,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - t0, 3),
    }
    atomic_write(out_dir / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def _same(x: Any) -> Any:
    return x


def _on_cluster(client: Any, tables, bundle, out_dir: Path, cfg: ScaleConfig, reasons: int,
                progress: Callable[[int], None] | None) -> tuple[list[dict[str, Any]], int]:
    """Partitions submitted a few per worker ahead (bounded memory), collected as they finish."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    try:
        client.wait_for_workers(1, timeout=60)
    except TimeoutError as e:
        raise ClusterError(f"scheduler {client.scheduler.address}: no worker joined within 60 s") from e
    workers = worker_count(client)
    # The bundle and each partition travel inside tasks (not scattered): the scheduler holds them,
    # so a dead worker's results (the bundle's copy included) are recomputed elsewhere.
    bundle_f = client.submit(_same, bundle, key=f"bundle-{out_dir.name}-{id(tables)}", pure=False)
    parts = _partitions(tables, cfg.partition_loans)
    ahead = max(1, workers * cfg.in_flight_per_worker)
    pending = as_completed()
    span: dict[Any, tuple[int, str, str]] = {}

    def submit_next() -> bool:
        nxt = next(parts, None)
        if nxt is None:
            return False
        k, part = nxt
        ids = part["loans"]["loan_id"]
        fut = client.submit(score_partition, bundle_f, part, reasons, str(out_dir), k, key=f"score-partition-{k}-{out_dir.name}-{id(parts)}")
        span[fut.key] = (k, str(ids.iloc[0]), str(ids.iloc[-1]))
        pending.add(fut)
        return True

    for _ in range(ahead):
        if not submit_next():
            break
    results = []
    for fut in pending:
        try:
            r = fut.result()
        except KilledWorker as e:
            k, a, b = span[fut.key]
            for f in list(pending.futures):
                f.cancel()
            raise ClusterError(f"partition {k} (loans {a}…{b}) lost its worker {cfg.allowed_failures + 1} time(s) "
                               f"(scale.allowed_failures = {cfg.allowed_failures}); no manifest written, {out_dir} is incomplete") from e
        results.append(r)
        if progress is not None:
            progress(r["rows"])
        submit_next()
        fut.release()
    return results, workers
