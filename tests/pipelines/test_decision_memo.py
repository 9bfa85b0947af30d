"""The audit log's paged query, the decision memo rendered from an audit record (deterministic,
escaped, self-contained, A4 print CSS), `iprisk audit memo`, and replay with a given bundle loader."""

from __future__ import annotations

import json

import pytest

from data_contracts.errors import InputError
from models.decision import DecisionConfig
from pipelines.audit_store import AuditLog, AuditRecord
from pipelines.decision_memo import render_memo

DECISION = {
    "loan_id": "L000000001", "currency": "CNY", "probability_of_default": 0.0341, "grade": "7", "loss_given_default": 0.42,
    "exposure_at_default": 3e6, "expected_loss": 43000.0, "expected_loss_rate": 0.0143, "ltv": 0.2609, "ltv_cap": 0.22,
    "max_loan_amount": 2.53e6, "max_loan_binding": "ltv", "recommendation": "refer", "decision_rule": "ltv_above_cap",
    "reasons": [{"feature": "liabilities_to_assets", "description": "Leverage <b>", "log_odds": 0.4, "pd_points": 0.012, "value": 0.52}],
    "counterfactual": {"amount": 2.53e6, "ltv": 0.22, "reason": "reduced_amount", "probability_of_default": 0.033},
    "collateral": [{"patent_id": "CN201810123456X", "right_type": "invention", "legal_score": 72.0, "technical_score": 55.0,
                    "economic_score": 61.0, "value_score": 65.0, "appraised_value": 9e6, "expected_liquidation_value": 1.2e6}],
}
APP = {"firm": {"firm_id": "F000123", "sector": "ai_software", "revenue": 86e6},
       "patents": [{"patent_id": "CN201810123456X", "expiry_date": "2038-03-02"}],
       "loan": {"loan_id": "L000000001", "amount": 3e6, "term_months": 36, "guarantee_share": 0.3}}


def _record(**kw) -> AuditRecord:
    base = dict(request_id="a" * 32, recorded_at="2026-11-30T03:58:12.123456+00:00", endpoint="loans/score", caller="alice",
                role="credit_officer", inputs=APP, outputs=DECISION, model_versions={"iprisk-pd": "3", "iprisk-recovery": "2"})
    base.update(kw)
    return AuditRecord(**base)


def test_memo_is_deterministic_self_contained_and_complete():
    cfg = DecisionConfig()
    a, b = render_memo(_record(), cfg), render_memo(_record(), cfg)
    assert a == b
    assert "Refer: the loan-to-value 26.1% is above the 22.0% cap for these patents." in a
    assert "a" * 32 in a and "2026-11-30 03:58:12 UTC" in a and "alice" in a
    assert "iprisk-pd v3" in a and "iprisk-recovery v2" in a
    assert "CN201810123456X" in a and "CNY 9,000,000" in a and "Annual revenue" in a and "CNY 86,000,000" in a
    assert "@page { size: A4" in a and "@media print" in a
    assert "http://" not in a and "https://" not in a and "<script" not in a and "<link" not in a
    assert "Leverage &lt;b&gt;" in a and "Leverage <b>" not in a  # escaped


def test_memo_only_for_scored_applications():
    with pytest.raises(InputError, match="memo"):
        render_memo(_record(endpoint="trust/tranches"), DecisionConfig())


def test_query_pages_filters_and_counts(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path / 'a.db'}")
    for i in range(7):
        log.append(f"r{i}", "loans/score" if i != 3 else "trust/tranches", "alice" if i % 2 == 0 else "bob",
                   "credit_officer", {"i": i}, {"o": i}, {}, recorded_at=f"2026-11-{10 + i:02d}T00:00:00+00:00")
    page = log.query(caller="alice", endpoints=("loans/score",), limit=2)
    assert page.total == 4 and [r.request_id for r in page.records] == ["r6", "r4"]
    assert page.records[0].inputs == {"i": 6}
    assert [r.request_id for r in log.query(caller="alice", endpoints=("loans/score",), limit=2, offset=2).records] == ["r2", "r0"]
    assert log.query().total == 7 and log.query(caller="bob", endpoints=("loans/score",)).total == 2
    window = log.query(since="2026-11-12", until="2026-11-15")
    assert [r.request_id for r in window.records] == ["r4", "r3", "r2"]
    with pytest.raises(InputError):
        log.query(limit=0)


def test_replay_uses_the_given_loader(monkeypatch):
    from pipelines import audit_replay

    seen = {}

    def load(versions):
        seen["versions"] = versions
        return "bundle"

    monkeypatch.setattr(audit_replay, "score_applications", lambda bundle, apps: [{"bundle": bundle, "n": len(apps)}])
    out = audit_replay.replay(_record(), load=load)
    assert out == {"bundle": "bundle", "n": 1} and seen["versions"] == {"iprisk-pd": "3", "iprisk-recovery": "2"}
    with pytest.raises(InputError):
        audit_replay.replay(_record(endpoint="models/reload"), load=load)


def test_cli_audit_memo_writes_the_same_memo(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.app import app
    from cli.main import _register_commands
    from pipelines.policy import load_policy

    _register_commands()

    url = f"sqlite:///{tmp_path / 'a.db'}"
    rec = _record()
    AuditLog(url).append(rec.request_id, rec.endpoint, rec.caller, rec.role, rec.inputs, rec.outputs, rec.model_versions,
                         recorded_at=rec.recorded_at)
    out = tmp_path / "memo.html"
    r = CliRunner().invoke(app, ["audit", "memo", rec.request_id, "--audit-url", url, "--out", str(out)])
    assert r.exit_code == 0, r.output
    stored = AuditLog(url).get(rec.request_id)
    assert out.read_text(encoding="utf-8") == render_memo(stored, load_policy().decision)
    r = CliRunner().invoke(app, ["audit", "memo", "nope", "--audit-url", url])
    assert r.exit_code != 0
    assert json.loads(json.dumps(stored.outputs)) == DECISION
