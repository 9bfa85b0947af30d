"""`iprisk audit list`: request ids shown whole (they are what `audit show` / `audit replay` take),
in an 80-column terminal too, and a JSON form for scripts."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

import cli.commands.audit  # noqa: F401  (registers `audit` on the app)
from cli.app import app
from pipelines.audit_store import AuditLog


@pytest.fixture
def audit(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    log = AuditLog(url)
    ids = [uuid.uuid4().hex for _ in range(3)]
    for i, rid in enumerate(ids):
        log.append(rid, "loans/score-batch", "credit-officer-with-a-long-key-name", "credit_officer", {}, {}, {},
                   recorded_at=f"2026-11-30T10:00:0{i}.000000+00:00")
    log.close()
    return url, ids


def test_list_shows_whole_request_ids_in_80_columns(audit):
    url, ids = audit
    r = CliRunner().invoke(app, ["audit", "list", "--audit-url", url], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert all(len(line) <= 80 for line in lines), r.output
    for rid in ids:  # each id whole, on one line, where a double-click selects it
        assert any(rid in line.split() for line in lines), (rid, r.output)
    assert [line.split()[0] for line in lines if line.split() and line.split()[0] in ids] == ids[::-1]  # newest first


def test_list_as_json(audit):
    url, ids = audit
    r = CliRunner().invoke(app, ["audit", "list", "--audit-url", url, "--json", "--last", "2"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["request_id"] for row in rows] == ids[::-1][:2]
    assert set(rows[0]) == {"request_id", "recorded_at", "endpoint", "caller"}
    assert rows[0]["recorded_at"] == "2026-11-30T10:00:02.000000+00:00" and rows[0]["endpoint"] == "loans/score-batch"
