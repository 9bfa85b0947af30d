"""The scoring service as a user runs it: `iprisk serve` against a registry trained on a small demo
book, HTTP on loopback, the CLI for audit and keys. Uses the real models (no test doubles)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servicekit import IPRISK, Server, book_applications, serving_pins  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("service")]


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("svc"), trained["uri"], trained["home"], serving_pins()).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def apps(trained):
    return book_applications(trained["book"], 6, seed=5)


def _cli(server, *args, timeout=180):
    return subprocess.run([IPRISK, *args], env=server.env, capture_output=True, text=True, timeout=timeout)


def test_score_a_demo_application(server, apps, trained):
    r = httpx.post(server.url + "/v1/loans/score", json=apps[0], headers=server.headers("credit_officer"), timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    assert body["model_versions"] == json.loads(serving_pins()["IPRISK__SERVING__VERSIONS"])
    d = body["decision"]
    assert 0 < d["probability_of_default"] < 1 and 0 <= d["loss_given_default"] <= 1
    assert d["expected_loss"] == pytest.approx(d["probability_of_default"] * d["loss_given_default"] * d["exposure_at_default"], rel=1e-6)
    assert {c["patent_id"] for c in d["collateral"]} == {p["patent_id"] for p in apps[0]["patents"]}
    for c in d["collateral"]:
        assert {"legal_score", "technical_score", "economic_score", "value_score"} <= set(c)
    assert d["recommendation"] and d["grade"] and isinstance(d["reasons"], list)


def test_batch_agrees_with_single_scores(server, apps):
    h = server.headers("credit_officer")
    r = httpx.post(server.url + "/v1/loans/score-batch", json={"applications": apps[:4]}, headers=h, timeout=120)
    assert r.status_code == 200, r.text
    batch = r.json()["decisions"]
    assert [d["loan_id"] for d in batch] == [a["loan"]["loan_id"] for a in apps[:4]]
    single = httpx.post(server.url + "/v1/loans/score", json=apps[2], headers=h, timeout=60).json()["decision"]
    assert batch[2]["probability_of_default"] == pytest.approx(single["probability_of_default"], rel=1e-9)


def test_value_collateral(server, apps):
    body = {"patents": apps[1]["patents"], "as_of": "2025-06-30"}
    r = httpx.post(server.url + "/v1/collateral/value", json=body, headers=server.headers("fund_manager"), timeout=60)
    assert r.status_code == 200, r.text
    c = r.json()["collateral"]
    assert 0 < c["ltv_cap"] <= 1
    assert len(c["patents"]) == len(apps[1]["patents"])


def test_size_tranches_from_scored_loans(server, apps):
    h = server.headers("credit_officer")
    ds = httpx.post(server.url + "/v1/loans/score-batch", json={"applications": apps}, headers=h, timeout=120).json()["decisions"]
    pool = [{"loan_id": d["loan_id"], "exposure_at_default": d["exposure_at_default"],
             "probability_of_default": d["probability_of_default"], "loss_given_default": d["loss_given_default"]} for d in ds]
    r = httpx.post(server.url + "/v1/trust/tranches", json={"pool": pool, "method": "exact"},
                   headers=server.headers("fund_manager"), timeout=120)
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    assert res["pool"]["loans"] == len(pool)
    assert [t["name"] for t in res["tranches"]][0] == "senior"


def test_models_endpoint_and_roles(server, apps):
    u = server.url
    r = httpx.get(u + "/v1/models", headers=server.headers("data_scientist"), timeout=30)
    assert r.status_code == 200 and r.json()["metrics"]
    assert httpx.post(u + "/v1/loans/score", json=apps[0], timeout=30).status_code == 401
    assert httpx.post(u + "/v1/loans/score", json=apps[0], headers={"X-API-Key": "ipr_0000_nope"}, timeout=30).status_code == 401
    assert httpx.post(u + "/v1/loans/score", json=apps[0], headers=server.headers("fund_manager"), timeout=30).status_code == 403
    assert httpx.get(u + "/v1/models", headers=server.headers("credit_officer"), timeout=30).status_code == 403
    assert httpx.post(u + "/v1/trust/tranches", json={"pool": []}, headers=server.headers("data_scientist"), timeout=30).status_code == 403


def test_bad_inputs_are_4xx_naming_the_field(server, apps):
    h = server.headers("credit_officer")
    bad = copy.deepcopy(apps[0])
    bad["patents"][0]["expiry_date"] = "1990-01-01"
    bad["firm"]["current_ratio"] = "lots"
    bad["loan"]["term_months"] = 0
    r = httpx.post(server.url + "/v1/loans/score", json=bad, headers=h, timeout=30)
    assert r.status_code == 422
    paths = {e["path"] for e in r.json()["errors"]}
    assert {"firm.current_ratio", "loan.term_months"} <= paths
    bad = copy.deepcopy(apps[0])
    bad["patents"][0]["expiry_date"] = "1990-01-01"
    r = httpx.post(server.url + "/v1/loans/score", json=bad, headers=h, timeout=30)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "patents[0].expiry_date"
    r = httpx.post(server.url + "/v1/loans/score", content=b"{", headers={**h, "content-type": "application/json"}, timeout=30)
    assert r.status_code == 400 and r.json()["errors"][0]["rule"] == "json"  # not JSON at all: 400, as documented


def test_audit_show_and_replay_give_the_same_result(server, apps):
    r = httpx.post(server.url + "/v1/loans/score", json=apps[3], headers=server.headers("credit_officer"), timeout=60)
    rid = r.json()["request_id"]
    shown = _cli(server, "audit", "show", rid, "--audit-url", server.audit_url)
    assert shown.returncode == 0, shown.stderr
    rec = json.loads(shown.stdout)
    assert rec["request_id"] == rid and rec["role"] == "credit_officer" and rec["caller"] == "test-credit_officer"
    assert rec["outputs"] == r.json()["decision"]
    rep = _cli(server, "audit", "replay", rid, "--audit-url", server.audit_url)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "identical" in rep.stdout
    missing = _cli(server, "audit", "show", "nope", "--audit-url", server.audit_url)
    assert missing.returncode != 0 and "no decision" in missing.stderr


def test_wrong_method_is_405_with_allow(server):
    r = httpx.get(server.url + "/v1/loans/score", headers=server.headers("credit_officer"), timeout=30)
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["request_id"] == r.headers["x-request-id"]
    r = httpx.get(server.url + "/v1/pd", headers=server.headers("data_scientist"), timeout=30)  # BentoML's own route
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["errors"] == []


def test_keys_from_the_cli_take_effect_at_once(server):
    made = _cli(server, "keys", "create", "--role", "data_scientist", "--name", "temp", "--file", str(server.keys_file))
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert httpx.get(server.url + "/v1/models", headers={"X-API-Key": key}, timeout=30).status_code == 200
    listed = _cli(server, "keys", "list", "--file", str(server.keys_file))
    assert "temp" in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    revoked = _cli(server, "keys", "revoke", key.split("_")[1], "--file", str(server.keys_file))
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(server.url + "/v1/models", headers={"X-API-Key": key}, timeout=30).status_code == 401


def test_health_and_metrics(server):
    for p in ("/healthz", "/readyz", "/metrics", "/docs.json", "/v1/openapi.json", "/ui"):
        assert httpx.get(server.url + p, timeout=30).status_code == 200, p


def test_refuses_to_start_without_a_registry(tmp_path):
    s = Server(tmp_path / "empty", f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path)
    out = subprocess.run([IPRISK, "serve", "--port", str(s.port)], env=s.env, capture_output=True, text=True, timeout=150)
    assert out.returncode != 0
    assert "refused to start" in out.stderr and "RegistryError" in out.stderr


def test_sigkill_under_load_loses_no_acknowledged_decision(trained, apps, tmp_path):
    from pipelines.audit_store import AuditLog

    s = Server(tmp_path / "kill", trained["uri"], trained["home"], serving_pins()).start()
    acked: list[str] = []
    stop = threading.Event()

    def client():
        with httpx.Client(timeout=30) as c:
            i = 0
            while not stop.is_set() and i < 400:
                i += 1
                try:
                    r = c.post(s.url + "/v1/loans/score", json=apps[i % len(apps)], headers=s.headers("credit_officer"))
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acked.append(r.json()["request_id"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        s.kill()  # SIGKILL the whole server while requests are in flight
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        stop.set()
        s.stop()
    assert len(acked) >= 20
    logged = AuditLog(s.audit_url).request_ids()
    assert set(acked) <= logged, f"{len(set(acked) - logged)} acknowledged decision(s) missing from the audit log"
