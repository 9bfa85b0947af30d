"""The audit log on PostgreSQL (what a bank configures with `audit_url: postgresql://…`): a private
server started for this module on 127.0.0.1 from the machine's PostgreSQL 15, stopped after."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL server binaries not installed")
    try:
        pg = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no 'postgres' system user to run the server as")
    if os.geteuid() != 0 and os.geteuid() != pg.pw_uid:
        pytest.skip("cannot start PostgreSQL as the 'postgres' user from this account")
    base = Path(tempfile.mkdtemp(prefix="iprisk-pg-"))
    os.chown(base, pg.pw_uid, pg.pw_gid)
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    port = _free_port()
    data = base / "data"
    subprocess.run([*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                    "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {base}", "start"], check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_decisions_are_appended_read_back_and_never_changed(pg_url):
    import psycopg

    from pipelines.audit_store import AuditLog

    log = AuditLog(pg_url)
    log.append("req-1", "/v1/loans/score", "officer-1", "credit_officer", {"loan": {"amount": 1e6}},
               {"probability_of_default": 0.03}, {"iprisk-pd": "1"})
    log.append_many([("req-2", "2026-11-21T00:00:00Z", "/v1/loans/score", "officer-1", "credit_officer", "{}", "{}", "{}")])
    rec = log.get("req-1")
    assert rec is not None and rec.outputs["probability_of_default"] == 0.03 and rec.model_versions == {"iprisk-pd": "1"}
    assert log.request_ids() >= {"req-1", "req-2"} and log.count() >= 2
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE decisions SET outputs = '{}' WHERE request_id = 'req-1'")
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("DELETE FROM decisions WHERE request_id = 'req-1'")
    log.close()
    assert AuditLog(pg_url).get("req-1") is not None  # durable across connections
    with pytest.raises(psycopg.errors.UniqueViolation):
        AuditLog(pg_url).append("req-1", "/v1/loans/score", "x", "credit_officer", {}, {}, {})  # ids are unique
