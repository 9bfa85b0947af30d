"""The endpoints behind the web page (issue 13), in-process with the fake bundle: the application
form from the contracts, the decision in words, history, one decision, its memo and its replay,
the trust settings, a pool from recent decisions, and tranche stress and engine comparison."""

from __future__ import annotations

import copy

import pytest


def _h(c, role):
    return {"X-API-Key": c.env["keys"][role]}


def _score(c, app, role="credit_officer", key=None):
    r = c.post("/v1/loans/score", json=app, headers={"X-API-Key": key} if key else _h(c, role))
    assert r.status_code == 200, r.text
    return r.json()


# -- roles -----------------------------------------------------------------------------------
ROUTES = [("get", "/v1/decisions"), ("get", "/v1/decisions/abc123"), ("get", "/v1/decisions/abc123/memo"),
          ("post", "/v1/decisions/abc123/replay"), ("get", "/v1/trust/settings"), ("get", "/v1/trust/pool-from-decisions")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_new_routes_need_a_key_and_the_right_role(client, method, path):
    assert getattr(client, method)(path).status_code == 401
    assert getattr(client, method)(path, headers={"X-API-Key": "ipr_nothere_secret"}).status_code == 401
    wrong = "fund_manager" if "decisions" in path and "trust" not in path else "credit_officer"
    r = getattr(client, method)(path, headers=_h(client, wrong))
    assert r.status_code == 403, (path, r.text)
    assert getattr(client, method)(path, headers=_h(client, "data_scientist")).status_code == 403


def test_application_form_is_public_and_follows_the_contracts(client):
    from data_contracts import load_contract

    r = client.get("/v1/contracts/application")
    assert r.status_code == 200
    form = r.json()
    by = {s["title"]: s for s in form["sections"]}
    firm = {f["name"]: f for f in by["The firm"]["fields"]}
    assert set(firm) == set(load_contract("firms").column_names)
    assert firm["sector"]["allowed"] == list(load_contract("firms").column("sector").allowed)
    assert firm["revenue"]["unit"] == "CNY" and firm["revenue"]["label"] == "Annual revenue" and firm["revenue"]["required"]
    assert firm["interest_coverage"]["nullable"] and not firm["interest_coverage"]["required"]
    pats = {f["name"]: f for f in by["Pledged patents"]["fields"]}
    assert pats["firm_id"]["filled_from"] == "firm.firm_id" and not pats["firm_id"]["required"]
    assert pats["claims_count"]["min"] == 1 and pats["claims_count"]["max"] == 500
    assert by["Pledged patents"]["max_rows"] == client.env["config"].max_patents
    enh = by["Credit enhancements"]
    assert [f["name"] for f in enh["fields"]] == ["guarantee_share", "insurance_share", "compensation_share"]
    assert enh["sum_at_most"][0]["limit"] == 1.0
    loan = [f["name"] for f in by["The loan"]["fields"]]
    assert "amount" in loan and "guarantee_share" not in loan


# -- the decision in words, history, memo, replay --------------------------------------------------
def test_score_answer_carries_the_decision_in_words(client, example_app):
    body = _score(client, example_app)
    n = body["narrative"]
    assert n["headline"].startswith(("Approve", "Decline")) and n["headline"].endswith(".")
    assert {f["key"] for f in n["figures"]} >= {"probability_of_default", "exposure_at_default"}
    assert [c["patent_id"] for c in n["collateral"]] == [p["patent_id"] for p in example_app["patents"]]
    assert n["survival_label"] is None


def test_history_lists_my_decisions_newest_first_and_pages(client, example_app):
    from pipelines.key_store import create_key

    other = create_key(client.env["config"].keys_path, "credit_officer", name="colleague-of-history-test")
    mine = []
    for amount in (1_000_000, 2_000_000, 3_000_000):
        app = copy.deepcopy(example_app)
        app["loan"]["amount"] = amount
        mine.append(_score(client, app)["request_id"])
    theirs = _score(client, example_app, key=other)["request_id"]
    r = client.get("/v1/decisions", params={"limit": 2}, headers=_h(client, "credit_officer"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["scope"] == "mine" and page["total"] == 3 and page["limit"] == 2
    assert [d["request_id"] for d in page["decisions"]] == mine[::-1][:2]
    d = page["decisions"][0]
    assert d["amount"] == 3_000_000 and d["firm_id"] == example_app["firm"]["firm_id"] and d["recommendation"]
    assert d["caller"] == "test-credit_officer" or d["caller"]
    r2 = client.get("/v1/decisions", params={"limit": 2, "offset": 2}, headers=_h(client, "credit_officer")).json()
    assert [x["request_id"] for x in r2["decisions"]] == [mine[0]]
    colleague = client.get("/v1/decisions", headers={"X-API-Key": other}).json()
    assert [x["request_id"] for x in colleague["decisions"]] == [theirs]
    everyone = client.get("/v1/decisions", params={"scope": "all", "limit": 100}, headers={"X-API-Key": other}).json()
    assert {theirs, *mine} <= {x["request_id"] for x in everyone["decisions"]}
    assert client.get("/v1/decisions", params={"limit": 0}, headers=_h(client, "credit_officer")).status_code == 422
    assert client.get("/v1/decisions", params={"scope": "x"}, headers=_h(client, "credit_officer")).status_code == 422
    future = client.get("/v1/decisions", params={"since": "2999-01-01"}, headers=_h(client, "credit_officer")).json()
    assert future["total"] == 0
    edge = client.get("/v1/decisions", params={"until": "9999-12-31", "since": "0001-01-01"}, headers=_h(client, "credit_officer"))
    assert edge.status_code == 200 and edge.json()["total"] == 3
    for bad in ({"until": "0"}, {"since": "20240101"}, {"until": "2024-02-30"}):  # days in ISO form only, real days only
        r = client.get("/v1/decisions", params=bad, headers=_h(client, "credit_officer"))
        assert r.status_code == 422 and r.headers["content-type"] == "application/json", (bad, r.text)


def test_memo_refusals_are_json_and_a_control_character_path_is_a_json_404(client):
    r = client.get("/v1/decisions/abc/memo")
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    spec = client.get("/v1/openapi.json").json()["paths"]["/v1/decisions/{request_id}/memo"]["get"]["responses"]
    assert "text/html" in spec["200"]["content"] and list(spec["401"]["content"]) == ["application/json"]
    r = client.get("/v1/decisions/a%0Ab", headers=_h(client, "credit_officer"))
    assert r.status_code == 404 and r.json()["errors"][0]["rule"] == "printable"


def test_open_one_decision_and_unknown_ids_are_404(client, example_app):
    body = _score(client, example_app)
    r = client.get(f"/v1/decisions/{body['request_id']}", headers=_h(client, "credit_officer"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["record"]["outputs"] == body["decision"] and got["record"]["inputs"]["firm"] == example_app["firm"]
    assert got["narrative"] == body["narrative"] and got["model_versions"] == body["model_versions"]
    for path in ("/v1/decisions/0123456789abcdef", "/v1/decisions/0123456789abcdef/memo"):
        r = client.get(path, headers=_h(client, "credit_officer"))
        assert r.status_code == 404 and r.json()["error"]
    assert client.post("/v1/decisions/0123456789abcdef/replay", headers=_h(client, "credit_officer")).status_code == 404
    assert client.get("/v1/decisions/bad%20id!", headers=_h(client, "credit_officer")).status_code == 422


def test_tranche_records_are_not_a_credit_officers_decisions(client):
    r = client.post("/v1/trust/tranches", json={"pool": _pool(), "method": "lhp"}, headers=_h(client, "fund_manager"))
    rid = r.json()["request_id"]
    assert client.get(f"/v1/decisions/{rid}", headers=_h(client, "credit_officer")).status_code == 404


def test_memo_is_html_byte_identical_and_says_what_the_page_says(client, example_app):
    body = _score(client, example_app)
    rid = body["request_id"]
    a = client.get(f"/v1/decisions/{rid}/memo", headers=_h(client, "credit_officer"))
    b = client.get(f"/v1/decisions/{rid}/memo", headers=_h(client, "credit_officer"))
    assert a.status_code == 200 and a.headers["content-type"].startswith("text/html")
    assert a.content == b.content
    html = a.text
    assert rid in html and "@page" in html and "A4" in html
    assert body["narrative"]["headline"] in html
    for p in example_app["patents"]:
        assert p["patent_id"] in html
    for v in body["model_versions"].values():
        assert f"v{v}" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_replay_reproduces_the_decision_and_its_memo(client, example_app):
    rid = _score(client, example_app)["request_id"]
    r = client.post(f"/v1/decisions/{rid}/replay", headers=_h(client, "credit_officer"))
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["identical"] and rep["n_differences"] == 0 and rep["differences"] == [] and rep["memo_identical"]
    assert rep["replayed_request_id"] == rid and rep["request_id"] != rid


def test_replay_reports_differences(client, example_app, monkeypatch):
    rid = _score(client, example_app)["request_id"]
    bundle = client.env["bundle"]
    orig = bundle.predict_pd
    monkeypatch.setattr(bundle, "predict_pd", lambda X: orig(X) * 0.5)
    rep = client.post(f"/v1/decisions/{rid}/replay", headers=_h(client, "credit_officer")).json()
    assert not rep["identical"] and rep["n_differences"] >= 1
    paths = {d["path"] for d in rep["differences"]}
    assert "probability_of_default" in paths and not rep["memo_identical"]


def test_openapi_documents_the_new_routes_with_their_statuses(client):
    doc = client.get("/v1/openapi.json").json()
    memo = doc["paths"]["/v1/decisions/{request_id}/memo"]["get"]
    assert "text/html" in memo["responses"]["200"]["content"]
    assert {"200", "401", "403", "404", "422"} <= set(memo["responses"])
    for p in ("/v1/decisions", "/v1/decisions/{request_id}", "/v1/decisions/{request_id}/replay", "/v1/trust/settings",
              "/v1/trust/pool-from-decisions", "/v1/contracts/application"):
        assert p in doc["paths"], p
    assert "stress" in doc["components"]["schemas"]["TrancheRequest"]["properties"]


# -- fund manager ------------------------------------------------------------------------------
def _pool(n=40, seed=3, sectors=("ai_software",)):
    import numpy as np

    rng = np.random.default_rng(seed)
    return [{"loan_id": f"L{i:06d}", "exposure_at_default": float(rng.uniform(1e6, 5e6)),
             "probability_of_default": float(rng.uniform(0.01, 0.08)), "loss_given_default": float(rng.uniform(0.4, 0.8)),
             "sector": sectors[i % len(sectors)]} for i in range(n)]


def test_trust_settings_name_the_investor_classes_and_scenarios(client):
    r = client.get("/v1/trust/settings", headers=_h(client, "fund_manager"))
    assert r.status_code == 200, r.text
    s = r.json()
    names = [c["name"] for c in s["classes"]]
    assert names == ["senior", "mezzanine", "first_loss"]
    assert s["classes"][0]["investor"].startswith("Asset-operating") and s["classes"][0]["target"] == 0.001
    assert "Venture" in s["classes"][2]["investor"] and s["classes"][2]["target"] is None
    assert {sc["name"] for sc in s["stress_scenarios"]} >= {"downturn", "pd_doubled"}
    assert s["methods"] == ["lhp", "exact", "mc"]
    from data_contracts import load_contract

    assert [c["name"] for c in s["pool_columns"]] == list(load_contract("pool").column_names)


def test_pool_from_decisions_takes_the_latest_per_firm(client, example_app):
    a = copy.deepcopy(example_app)
    a["firm"]["firm_id"] = "F777001"
    a["loan"]["amount"] = 1_000_000
    _score(client, a)
    a["loan"]["amount"] = 1_500_000  # a what-if: replaces the earlier decision of the same firm
    last = _score(client, a)["decision"]
    b = copy.deepcopy(example_app)
    b["firm"]["firm_id"] = "F777002"
    b["firm"]["liabilities_to_assets"] = 3.0  # the fake bundle declines it
    assert _score(client, b)["decision"]["recommendation"] == "decline"
    r = client.get("/v1/trust/pool-from-decisions", headers=_h(client, "fund_manager"))
    assert r.status_code == 200, r.text
    pool = r.json()["pool"]
    rows = [p for p in pool if p["loan_id"] == last["loan_id"]]
    assert len(rows) == 1 and rows[0]["exposure_at_default"] == 1_500_000
    assert rows[0]["sector"] == example_app["firm"]["sector"]
    assert len({p["loan_id"] for p in pool}) == len(pool)
    with_declines = client.get("/v1/trust/pool-from-decisions", params={"include": ["decline"]}, headers=_h(client, "fund_manager")).json()
    assert any(p["probability_of_default"] > 0.1 for p in with_declines["pool"])
    t = client.post("/v1/trust/tranches", json={"pool": pool, "method": "lhp"}, headers=_h(client, "fund_manager"))
    assert t.status_code == 200, t.text


def test_tranches_with_stress_and_engine_comparison(client):
    body = {"pool": _pool(sectors=("ai_software", "biotech_pharma")), "method": "exact", "stress": True,
            "compare_methods": ["lhp", "mc"], "paths": 20000, "seed": 3}
    r = client.post("/v1/trust/tranches", json=body, headers=_h(client, "fund_manager"))
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    names = [s["scenario"]["name"] for s in res["scenarios"]]
    assert "downturn" in names and "largest_sector_shock" in names
    curves = res["loss_curves"]
    assert [s["name"] for s in curves["series"]] == ["base", *names]
    for s in curves["series"]:
        assert len(s["probability"]) == len(curves["edges"]) - 1 and len(s["exceedance"]) == len(curves["edges"])
        assert abs(sum(s["probability"]) - 1) < 2e-3
    base_el = res["expected_loss"]
    assert all(sc["expected_loss"] >= base_el - 1e-12 for sc in res["scenarios"])
    engines = res["engines"]
    assert [e["method"] for e in engines] == ["exact", "lhp", "mc"]
    assert [t["name"] for t in engines[2]["tranches"]] == [t["name"] for t in res["tranches"]]
    assert "expected_loss_se" in engines[2]["tranches"][-1]
    # the engines price the same tranches
    assert [t["attachment"] for t in engines[1]["tranches"]] == [t["attachment"] for t in res["tranches"]]
    r = client.post("/v1/trust/tranches", json={**body, "compare_methods": ["gpu"]}, headers=_h(client, "fund_manager"))
    assert r.status_code == 422


def test_pages_and_scripts_are_public(client):
    for path in ("/ui", "/ui/fund", "/ui/static/app.js", "/ui/static/officer.js", "/ui/static/fund.js", "/ui/static/style.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "") and "https://" not in r.text, path
    for path in ("/ui", "/ui/fund"):
        html = client.get(path).text
        assert 'href="/ui/models"' in html and 'href="/ui/fund"' in html and 'id="api-key"' in html
