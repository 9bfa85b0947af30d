"""Keys (hashed, roles), the audit log (durable, append-only) and the replay comparison."""

import json
import sqlite3

import pytest

from data_contracts.errors import InputError


def test_keys_are_stored_hashed_and_verify_by_role(tmp_path):
    from pipelines.key_store import KeyStore, create_key, list_keys, revoke_key

    f = tmp_path / "k.json"
    k1 = create_key(f, "credit_officer", "alice")
    k2 = create_key(f, "fund_manager")
    raw = f.read_text()
    assert k1.split("_", 2)[2] not in raw and k2.split("_", 2)[2] not in raw
    store = KeyStore(f)
    assert store.verify(k1).role == "credit_officer" and store.verify(k1).name == "alice"
    assert store.verify(k2).role == "fund_manager"
    assert store.verify(k1[:-1] + ("A" if k1[-1] != "A" else "B")) is None
    assert store.verify(None) is None and store.verify("") is None
    with pytest.raises(InputError):
        create_key(f, "admin")
    kid = k1.split("_")[1]
    assert revoke_key(f, kid) and KeyStore(f).verify(k1) is None
    assert [k["role"] for k in list_keys(f)] == ["fund_manager"]


def test_audit_log_is_wal_append_only_and_roundtrips(tmp_path):
    from pipelines.audit_store import AuditLog

    url = f"sqlite:///{tmp_path / 'a.db'}"
    log = AuditLog(url)
    log.append("r1", "loans/score", "alice", "credit_officer", {"x": 1}, {"pd": 0.1}, {"iprisk-pd": "2"})
    rec = AuditLog(url).get("r1")
    assert rec.inputs == {"x": 1} and rec.outputs == {"pd": 0.1} and rec.model_versions == {"iprisk-pd": "2"}
    con = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE decisions SET outputs='{}' WHERE request_id='r1'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    with pytest.raises(sqlite3.IntegrityError):
        log.append("r1", "loans/score", "alice", "credit_officer", {}, {}, {})
    assert log.count() == 1


def test_audit_rejects_unknown_urls(tmp_path):
    from pipelines.audit_store import AuditLog

    with pytest.raises(InputError):
        AuditLog("mysql://x")


def test_replay_differences_tolerate_rounding_only():
    from pipelines.audit_replay import differences

    a = {"pd": 0.1, "reasons": [{"f": "x", "v": 1.0}], "grade": "B"}
    assert differences(a, json.loads(json.dumps(a))) == []
    assert differences(a, {**a, "pd": 0.1 * (1 + 1e-12)}) == []
    d = differences(a, {**a, "pd": 0.11, "grade": "C"})
    assert {p for p, _, _ in d} == {"pd", "grade"}
    assert differences([1, 2], [1]) == [(".length", 2, 1)]


def test_request_models_follow_the_contracts():
    from data_contracts import load_contract
    from serving.schemas import Firm, Patent, PoolLoan

    for model, table in ((Firm, "firms"), (Patent, "patents"), (PoolLoan, "pool")):
        c = load_contract(table)
        schema = model.model_json_schema()
        assert set(schema["properties"]) == set(c.column_names)
        for col in c.columns:
            p = schema["properties"][col.name]
            flat = json.dumps(p)
            if col.min is not None:
                assert str(col.min).rstrip("0").rstrip(".") in flat or str(int(col.min)) in flat
            if col.allowed:
                assert all(a in flat for a in col.allowed)
            assert col.description in p.get("description", "")


def test_request_tables_equal_what_coerce_frame_gives(example_app):
    import copy

    import pandas as pd

    from data_contracts import application as checks
    from data_contracts import load_contract
    from data_contracts.frames import coerce_frame

    other = copy.deepcopy(example_app)
    other["firm"]["interest_coverage"] = None
    other["patents"][0]["grant_date"] = None
    apps = [checks.fill_application(a, f"L00000000{i}") for i, a in enumerate([example_app, other])]
    fast = checks.application_tables(apps)
    raw = {"firms": [apps[0]["firm"]], "patents": apps[0]["patents"], "loans": [a["loan"] for a in apps],
           "pledges": [{"loan_id": a["loan"]["loan_id"], "patent_id": p["patent_id"]} for a in apps for p in a["patents"]]}
    other["firm"]["firm_id"] = example_app["firm"]["firm_id"]  # same firm: listed once
    for table, df in fast.items():
        contract = load_contract(table)
        ref = coerce_frame(pd.DataFrame(raw[table], columns=list(contract.column_names)), contract)
        pd.testing.assert_frame_equal(df.reset_index(drop=True), ref.reset_index(drop=True), check_dtype=True)
