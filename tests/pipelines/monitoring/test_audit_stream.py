"""Chunked, read-only streaming of the audit log by time window."""

from __future__ import annotations

import json

import pytest

from data_contracts.errors import InputError
from pipelines.audit_store import AuditLog, DecisionSlice, decision_slices, stream_decisions


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


def test_slices_cover_the_window_once_in_order_and_keep_a_timestamp_whole(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    log = AuditLog(url)
    for i in range(40):  # pairs of records share a timestamp; every 7th is not a decision
        log.append(f"r{i:02d}", "collateral/value" if i % 7 == 0 else "loans/score", "c", "credit_officer", {"i": i}, {}, {},
                   recorded_at=f"2026-11-{1 + i // 2:02d}T00:00:00.000000")
    window = {"endpoints": ("loans/score",), "since": "2026-11-03", "until": "2026-11-19"}
    slices = decision_slices(url, chunk_rows=5, **window)
    assert len(slices) > 3 and slices[-1].hi_inclusive and not any(s.hi_inclusive for s in slices[:-1])
    per_slice = [s.rows() for s in slices]
    streamed = [r for c in stream_decisions(url, chunk_rows=1000, **window) for r in c]
    assert sorted(r[0] for c in per_slice for r in c) == sorted(r[0] for r in streamed)  # each record once
    for a, b in zip(per_slice, per_slice[1:]):  # in time order, no timestamp split across two slices
        assert not a or not b or a[-1][1] < b[0][1]
    open_ended = decision_slices(url, endpoints=("loans/score",), chunk_rows=5)
    log.append("late", "loans/score", "c", "credit_officer", {}, {}, {})  # recorded after the cut: in no slice
    assert len({r[0] for s in open_ended for r in s.rows()}) == 34 and "late" not in {r[0] for s in open_ended for r in s.rows()}
    assert decision_slices(url, since="2027-01-01") == []


def test_trimmed_outputs_keep_the_asked_fields_to_the_last_digit_and_leave_the_rest_whole(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    log = AuditLog(url)
    single = {"probability_of_default": 0.12345678901234567, "grade": "7", "reasons": [{"feature": "x", "log_odds": 0.1}],
              "counterfactual": {"probability_of_default": 0.5}}
    log.append("a", "loans/score", "c", "credit_officer", {}, single, {}, recorded_at="2026-11-01T00:00:00.000000")
    log.append("b", "loans/score-batch", "c", "credit_officer", [{}], [single], {}, recorded_at="2026-11-02T00:00:00.000000")
    with log._lock:  # a damaged record, written around the service's own serialiser
        log._conn.execute("INSERT INTO decisions VALUES ('c', '2026-11-03T00:00:00.000000', 'loans/score', 'c', 'r', '{}', "
                          "'{not json', '{}')")
        log._conn.commit()
    (s,) = decision_slices(url, output_fields=("probability_of_default", "grade", "loss_given_default"))
    a, b, c = s.rows()
    assert json.loads(a[4]) == {"probability_of_default": 0.12345678901234567, "grade": "7", "loss_given_default": None}
    assert json.loads(b[4]) == [single] and c[4] == "{not json"
    assert [r[4] for r in DecisionSlice(url, None, None, s.hi, True).rows()][0] == json.dumps(single, separators=(",", ":"))


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
