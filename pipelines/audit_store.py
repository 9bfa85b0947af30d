"""The audit trail: every scored decision, appended once, durable before the answer is sent.

Backends: SQLite in WAL mode with `synchronous=FULL` (default; a row is acknowledged only after
its commit reached the disk) or PostgreSQL when the URL starts with `postgresql://` (needs the
`psycopg` package). The table is append-only: SQLite triggers refuse UPDATE and DELETE.

Row: request_id, recorded_at (UTC ISO-8601), endpoint, caller, role, inputs (JSON),
outputs (JSON), model_versions (JSON name → version).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data_contracts.errors import InputError

COLUMNS = ("request_id", "recorded_at", "endpoint", "caller", "role", "inputs", "outputs", "model_versions")
LIST_COLUMNS = ("request_id", "recorded_at", "endpoint", "caller")
"""What `AuditLog.recent` returns per row (and `iprisk audit list` shows)."""

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  request_id TEXT PRIMARY KEY,
  recorded_at TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  caller TEXT NOT NULL,
  role TEXT NOT NULL,
  inputs TEXT NOT NULL,
  outputs TEXT NOT NULL,
  model_versions TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_caller_time ON decisions (caller, recorded_at);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (recorded_at);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  request_id TEXT PRIMARY KEY, recorded_at TEXT NOT NULL, endpoint TEXT NOT NULL,
  caller TEXT NOT NULL, role TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
  model_versions TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_caller_time ON decisions (caller, recorded_at);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (recorded_at);
CREATE OR REPLACE FUNCTION decisions_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS decisions_no_change ON decisions;
CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION decisions_append_only();
"""


@dataclass(frozen=True)
class AuditRecord:
    """One decision as stored; `inputs`, `outputs` and `model_versions` are parsed JSON."""

    request_id: str
    recorded_at: str
    endpoint: str
    caller: str
    role: str
    inputs: Any
    outputs: Any
    model_versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


MAX_PAGE = 500
"""Most rows one `AuditLog.query` page returns."""


@dataclass(frozen=True)
class AuditPage:
    """A page of `AuditLog.query`: the records (newest first), how many match in all, the page's bounds."""

    records: list[AuditRecord]
    total: int
    limit: int
    offset: int


def _record(row: tuple) -> AuditRecord:
    d = dict(zip(COLUMNS, row))
    for k in ("inputs", "outputs", "model_versions"):
        d[k] = json.loads(d[k])
    return AuditRecord(**d)


def dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), default=str, allow_nan=False)


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditLog:
    """Append-only decision log at `url` (`sqlite:///path` or `postgresql://…`). Thread-safe."""

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.Lock()
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            path = Path(url[len("sqlite:///"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = path
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SQLITE_SCHEMA)
            self._ph = "?"
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.kind = "postgresql"
            try:
                import psycopg
            except ImportError as e:
                raise InputError(
                    f"audit_url {url.split('@')[-1]!r} is PostgreSQL but the 'psycopg' package is not installed"
                ) from e
            self._conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self._conn.execute(_PG_SCHEMA)
            self._ph = "%s"
        else:
            raise InputError(f"audit_url {url!r}: expected sqlite:///PATH or postgresql://…")

    def append(self, request_id: str, endpoint: str, caller: str, role: str, inputs: Any, outputs: Any,
               model_versions: dict[str, str], recorded_at: str | None = None) -> None:
        """Write one decision and commit it; returns only once it is durable."""
        row = (request_id, recorded_at or now_utc(), endpoint, caller, role, dumps(inputs), dumps(outputs),
               dumps(model_versions))
        self.append_many([row])

    def append_many(self, rows: list[tuple]) -> None:
        """Write several rows (tuples in `COLUMNS` order, JSON already dumped) in one commit."""
        sql = f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join([self._ph] * len(COLUMNS))})"
        with self._lock:
            if self.kind == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(sql, rows)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            else:
                with self._conn.transaction():
                    with self._conn.cursor() as cur:
                        cur.executemany(sql, rows)

    def get(self, request_id: str) -> AuditRecord | None:
        sql = f"SELECT {', '.join(COLUMNS)} FROM decisions WHERE request_id = {self._ph}"
        with self._lock:
            row = self._conn.execute(sql, (request_id,)).fetchone()
        return None if row is None else _record(row)

    def query(self, *, caller: str | None = None, endpoints: tuple[str, ...] | None = None, since: str | None = None,
              until: str | None = None, limit: int = 20, offset: int = 0) -> AuditPage:
        """One page of decisions, newest first: those of `caller` (key name; None = everyone's), of
        the given `endpoints` (e.g. ("loans/score",)), recorded in [`since`, `until`) (ISO-8601 UTC
        strings, as `recorded_at`), `limit` rows (1–500) from `offset`; `total` counts every match."""
        if not 1 <= int(limit) <= MAX_PAGE or int(offset) < 0:
            raise InputError(f"audit query: limit must be 1–{MAX_PAGE} and offset >= 0; got limit={limit}, offset={offset}")
        cond, args = _where(self._ph, caller=caller, endpoints=endpoints, since=since, until=until)
        rows_sql = (f"SELECT {', '.join(COLUMNS)} FROM decisions{cond} ORDER BY recorded_at DESC, request_id DESC "
                    f"LIMIT {int(limit)} OFFSET {int(offset)}")
        with self._lock:
            total = int(self._conn.execute(f"SELECT COUNT(*) FROM decisions{cond}", tuple(args)).fetchone()[0])
            rows = self._conn.execute(rows_sql, tuple(args)).fetchall()
        return AuditPage([_record(r) for r in rows], total, int(limit), int(offset))

    def request_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT request_id FROM decisions").fetchall()}

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0])

    def recent(self, n: int = 20) -> list[tuple[str, str, str, str]]:
        """The last `n` rows, newest first, as `LIST_COLUMNS` (request_id, recorded_at, endpoint, caller)."""
        sql = f"SELECT request_id, recorded_at, endpoint, caller FROM decisions ORDER BY recorded_at DESC LIMIT {int(n)}"
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql).fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _where(ph: str, *, caller: str | None = None, endpoints: tuple[str, ...] | None = None, since: str | None = None,
           until: str | None = None) -> tuple[str, list]:
    """(" WHERE …" or "", its arguments) selecting decisions of `caller`, of `endpoints`, recorded in
    [`since`, `until`); `ph` is the driver's placeholder ("?" for SQLite, "%s" for psycopg)."""
    where, args = [], []
    if caller is not None:
        where.append(f"caller = {ph}")
        args.append(caller)
    if endpoints:
        where.append(f"endpoint IN ({', '.join([ph] * len(endpoints))})")
        args.extend(endpoints)
    if since:
        where.append(f"recorded_at >= {ph}")
        args.append(since)
    if until:
        where.append(f"recorded_at < {ph}")
        args.append(until)
    return (" WHERE " + " AND ".join(where)) if where else "", args


STREAM_COLUMNS = ("request_id", "recorded_at", "endpoint", "inputs", "outputs", "model_versions")
"""What `stream_decisions` yields per row (JSON columns still as text)."""


def stream_decisions(url: str, *, endpoints: tuple[str, ...] | None = None, since: str | None = None,
                     until: str | None = None, chunk_rows: int = 5000) -> Iterator[list[tuple]]:
    """The decisions recorded in [`since`, `until`) (ISO-8601 UTC strings), oldest first, in chunks of
    at most `chunk_rows` rows of `STREAM_COLUMNS`, so a reader holds one chunk whatever the log's size.

    Opens its own read-only connection (SQLite: `mode=ro`, one snapshot for the whole read, writers
    go on in WAL mode; PostgreSQL: a server-side cursor in one read transaction) and creates nothing:
    a store that does not exist or cannot be read raises `InputError` naming it."""
    cond, args = _where(_placeholder(url), endpoints=endpoints, since=since, until=until)
    yield from _read(url, f"SELECT {', '.join(STREAM_COLUMNS)} FROM decisions{cond} ORDER BY recorded_at", args, chunk_rows)


@dataclass(frozen=True)
class DecisionSlice:
    """The decisions of `endpoints` recorded in [`lo`, `hi`) — or [`lo`, `hi`] when `hi_inclusive` —
    (`lo` None: from the start), read by whoever holds it (a worker process opens its own connection,
    so only these few strings cross the process boundary, not the rows)."""

    url: str
    endpoints: tuple[str, ...] | None
    lo: str | None
    hi: str
    hi_inclusive: bool
    output_fields: tuple[str, ...] | None = None

    def rows(self) -> list[tuple]:
        """Its rows of `STREAM_COLUMNS`, oldest first; with `output_fields`, a single decision's outputs
        (endpoint `loans/score`) may come trimmed to those top-level fields (see `_columns`)."""
        ph = _placeholder(self.url)
        cond, args = _where(ph, endpoints=self.endpoints, since=self.lo)
        cond += (" AND " if cond else " WHERE ") + f"recorded_at {'<=' if self.hi_inclusive else '<'} {ph}"
        sql = f"SELECT {_columns(self.url, self.output_fields)} FROM decisions{cond} ORDER BY recorded_at"
        return [r for chunk in _read(self.url, sql, [*args, self.hi], 50_000) for r in chunk]


_FIELD = re.compile(r"[a-z_][a-z0-9_]*")


def _columns(url: str, output_fields: tuple[str, ...] | None) -> str:
    """The SELECT list of `STREAM_COLUMNS`. On SQLite ≥ 3.38 with `output_fields`, a `loans/score`
    record's outputs (~2.7 kB: reasons, collateral, price …) become the JSON object of just those
    fields, cut out by SQLite's C JSON reader with each value's original text (`->`: numbers keep
    every digit), so the reader parses ~130 bytes instead; a missing field is null and a record
    whose outputs are not valid JSON comes whole, for the reader to reject as before."""
    cols = list(STREAM_COLUMNS)
    if output_fields and url.startswith("sqlite:///") and sqlite3.sqlite_version_info >= (3, 38):
        bad = [f for f in output_fields if not _FIELD.fullmatch(f)]
        if bad:
            raise InputError(f"audit store: output field(s) {bad} are not plain field names")
        parts = " || ',' || ".join(f"'\"{f}\":' || coalesce(outputs -> '$.{f}', 'null')" for f in output_fields)
        cols[cols.index("outputs")] = (f"CASE WHEN endpoint = 'loans/score' AND json_valid(outputs) THEN '{{' || {parts} || '}}' "
                                       "ELSE outputs END")
    return ", ".join(cols)


def decision_slices(url: str, *, endpoints: tuple[str, ...] | None = None, since: str | None = None,
                    until: str | None = None, chunk_rows: int = 5000,
                    output_fields: tuple[str, ...] | None = None) -> list[DecisionSlice]:
    """The records in [`since`, `until`) cut at recording times into consecutive slices of about
    `chunk_rows` rows (all records of one timestamp fall in one slice, so a slice can be larger).

    Reads only `recorded_at` (the time index covers it); the last slice ends at the latest time seen,
    so decisions appended while the slices are read later are not counted (the slices are the log as
    it stood at this call). The slices cover each record once: reading them in order gives the
    records `stream_decisions` gives, oldest first."""
    cond, args = _where(_placeholder(url), since=since, until=until)
    chunk_rows = max(int(chunk_rows), 1)
    cuts: list[str] = []
    last: str | None = None
    n = 0
    for chunk in _read(url, f"SELECT recorded_at FROM decisions{cond} ORDER BY recorded_at", args, 100_000):
        for (t,) in chunk:
            if n >= chunk_rows and t != last:
                cuts.append(t)
                n = 0
            n += 1
            last = t
    if last is None:
        return []
    bounds = [since, *cuts]
    return [DecisionSlice(url, endpoints, lo, hi, False, output_fields) for lo, hi in zip(bounds, cuts)] + \
        [DecisionSlice(url, endpoints, bounds[-1], last, True, output_fields)]


def _placeholder(url: str) -> str:
    return "?" if url.startswith("sqlite:///") else "%s"


def _read(url: str, sql: str, args: list, chunk_rows: int) -> Iterator[list[tuple]]:
    """Rows of a read-only query, `chunk_rows` at a time, on a connection of its own (see `stream_decisions`)."""
    chunk_rows = max(int(chunk_rows), 1)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            raise InputError(f"audit store {url}: no such file (is serving.audit_url right? the service creates it "
                             "when it records its first decision)")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            cur = conn.execute(sql, tuple(args))
        except sqlite3.Error as e:
            raise InputError(f"audit store {url}: cannot be read ({e}); expected the service's 'decisions' table") from e
        try:
            while rows := cur.fetchmany(chunk_rows):
                yield rows
        except sqlite3.Error as e:
            raise InputError(f"audit store {url}: reading failed ({e})") from e
        finally:
            conn.close()
        return
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise InputError(f"audit_url {url!r}: expected sqlite:///PATH or postgresql://…")
    try:
        import psycopg
    except ImportError as e:
        raise InputError(f"audit_url {url.split('@')[-1]!r} is PostgreSQL but the 'psycopg' package is not installed") from e
    try:
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    except psycopg.Error as e:
        raise InputError(f"audit store {url.split('@')[-1]}: cannot connect ({str(e).splitlines()[0]})") from e
    try:
        with conn.transaction(), conn.cursor(name="iprisk_monitor_stream") as cur:
            cur.itersize = chunk_rows
            cur.execute(sql, tuple(args))
            while rows := cur.fetchmany(chunk_rows):
                yield rows
    except psycopg.Error as e:
        raise InputError(f"audit store {url.split('@')[-1]}: cannot be read ({str(e).splitlines()[0]})") from e
    finally:
        conn.close()
