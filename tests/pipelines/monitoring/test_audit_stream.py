"""Chunked, read-only streaming of the audit log by time window."""

from __future__ import annotations

import pytest

from data_contracts.errors import InputError
from pipelines.audit_store import AuditLog, stream_decisions


def test_stream_reads_the_window_in_chunks_oldest_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    log = AuditLog(url)
    for i in range(25):
        log.append(f"r{i:02d}", "loans/score" if i % 5 else "collateral/value", "c", "credit_officer", {"i": i}, {"p": i}, {},
                   recorded_at=f"2026-11-{1 + i:02d}T00:00:00.000000")
    chunks = list(stream_decisions(url, endpoints=("loans/score",), since="2026-11-03", until="2026-11-20", chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 4, 2]
    rows = [r for c in chunks for r in c]
    assert [r[0] for r in rows] == [f"r{i:02d}" for i in range(2, 19) if i % 5]
    assert rows[0][1] < rows[-1][1] and rows[0][3] == '{"i":2}'
    log.append("late", "loans/score", "c", "credit_officer", {}, {}, {})  # the writer is not blocked by a reader
    assert log.count() == 26


def test_a_missing_or_foreign_store_is_named_and_not_created(tmp_path):
    missing = tmp_path / "nowhere.db"
    with pytest.raises(InputError, match="no such file"):
        list(stream_decisions(f"sqlite:///{missing}"))
    assert not missing.exists()
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InputError, match="cannot be read"):
        list(stream_decisions(f"sqlite:///{other}"))
    with pytest.raises(InputError, match="expected sqlite"):
        list(stream_decisions("mysql://x"))
