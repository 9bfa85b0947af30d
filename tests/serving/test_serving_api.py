"""The /v1 API in-process (BentoML's ASGI app under Starlette's TestClient) with a test-double bundle."""

import copy

import pytest


def _h(c, role):
    return {"X-API-Key": c.env["keys"][role]}


def test_score_returns_decision_versions_and_request_id(client, example_app):
    r = client.post("/v1/loans/score", json=example_app, headers=_h(client, "credit_officer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    assert body["model_versions"] == client.env["bundle"].versions
    d = body["decision"]
    assert 0 < d["probability_of_default"] < 1
    assert {c["patent_id"] for c in d["collateral"]} == {p["patent_id"] for p in example_app["patents"]}


def test_riskier_firm_gets_higher_pd(client, example_app):
    worse = copy.deepcopy(example_app)
    worse["firm"]["liabilities_to_assets"] = 0.95
    h = _h(client, "credit_officer")
    a = client.post("/v1/loans/score", json=example_app, headers=h).json()["decision"]
    b = client.post("/v1/loans/score", json=worse, headers=h).json()["decision"]
    assert b["probability_of_default"] > a["probability_of_default"]


@pytest.mark.parametrize("headers,status", [({}, 401), ({"X-API-Key": "ipr_nothere_secret"}, 401),
                                            ({"X-API-Key": "garbage"}, 401)])
def test_missing_or_unknown_key_is_401(client, example_app, headers, status):
    r = client.post("/v1/loans/score", json=example_app, headers=headers)
    assert r.status_code == status
    assert r.json()["request_id"]


def test_wrong_role_is_403_and_right_role_passes(client, example_app):
    assert client.post("/v1/loans/score", json=example_app, headers=_h(client, "fund_manager")).status_code == 403
    assert client.get("/v1/models", headers=_h(client, "credit_officer")).status_code == 403
    assert client.post("/v1/trust/tranches", json={"pool": []}, headers=_h(client, "credit_officer")).status_code == 403
    r = client.get("/v1/models", headers=_h(client, "data_scientist"))
    assert r.status_code == 200 and r.json()["model_versions"] == client.env["bundle"].versions
    coll = {"patents": example_app["patents"]}
    assert client.post("/v1/collateral/value", json=coll, headers=_h(client, "fund_manager")).status_code == 200


def test_bearer_header_works(client, example_app):
    r = client.post("/v1/loans/score", json=example_app,
                    headers={"Authorization": "Bearer " + client.env["keys"]["credit_officer"]})
    assert r.status_code == 200


def test_bad_input_lists_every_error_with_path_rule_value(client, example_app):
    bad = copy.deepcopy(example_app)
    bad["patents"][1]["claims_count"] = -3                # type/range: pydantic layer
    bad["firm"]["sector"] = "casino"
    r = client.post("/v1/loans/score", json=bad, headers=_h(client, "credit_officer"))
    assert r.status_code == 422
    errs = {(e["path"], e["rule"]): e["value"] for e in r.json()["errors"]}
    assert errs[("patents[1].claims_count", "min")] == -3
    assert errs[("firm.sector", "allowed")] == "casino"


def test_contract_rules_beyond_types_are_checked(client, example_app):
    bad = copy.deepcopy(example_app)
    bad["patents"][0]["grant_date"] = "2040-01-01"        # after expiry: date_order
    bad["patents"][0]["independent_claims"] = 20           # > claims_count: column_order
    bad["loan"]["guarantee_share"] = 0.9                   # shares sum > 1
    bad["patents"][1]["firm_id"] = "F999999"              # not the applicant: foreign_key
    bad["patents"].append(copy.deepcopy(bad["patents"][0]))  # duplicate patent: unique
    r = client.post("/v1/loans/score", json=bad, headers=_h(client, "credit_officer"))
    assert r.status_code == 422
    rules = {(e["path"], e["rule"]) for e in r.json()["errors"]}
    assert ("patents[0].expiry_date", "date_order") in rules
    assert ("patents[0].claims_count", "column_order") in rules
    assert ("loan.compensation_share", "sum_at_most") in rules
    assert ("patents[1].firm_id", "foreign_key") in rules
    assert ("patents[2].patent_id", "unique") in rules


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"null", b'{"firm": 3}', b""])
def test_malformed_bodies_are_4xx_json(client, body):
    r = client.post("/v1/loans/score", content=body, headers={**_h(client, "credit_officer"),
                                                              "content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert "errors" in r.json()


def test_body_size_is_bounded(client, example_app, monkeypatch):
    big = b'{"x": "' + b"a" * 2_100_000 + b'"}'
    r = client.post("/v1/loans/score", content=big, headers={**_h(client, "credit_officer"),
                                                             "content-type": "application/json"})
    assert r.status_code == 413


def test_batch_length_is_bounded_and_batch_scores_each(client, example_app):

    h = _h(client, "credit_officer")
    apps = [copy.deepcopy(example_app) for _ in range(3)]
    r = client.post("/v1/loans/score-batch", json={"applications": apps}, headers=h)
    assert r.status_code == 200, r.text
    ds = r.json()["decisions"]
    assert len(ds) == 3 and len({d["loan_id"] for d in ds}) == 3
    r = client.post("/v1/loans/score-batch", json={"applications": [example_app] * (client.env['config'].max_batch + 1)}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "applications"


def test_batch_rejects_one_firm_id_with_two_records(client, example_app):
    other = copy.deepcopy(example_app)
    other["firm"]["employees"] = 5
    r = client.post("/v1/loans/score-batch", json={"applications": [example_app, other]},
                    headers=_h(client, "credit_officer"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "applications[1].firm.firm_id"


def test_decisions_are_audited_with_caller_and_versions(client, example_app):
    from pipelines.audit_store import AuditLog

    r = client.post("/v1/loans/score", json=example_app, headers=_h(client, "credit_officer"))
    rid = r.json()["request_id"]
    rec = AuditLog(client.env["audit_url"]).get(rid)
    assert rec is not None
    assert rec.role == "credit_officer" and rec.endpoint == "loans/score"
    assert rec.model_versions == client.env["bundle"].versions
    assert rec.outputs == r.json()["decision"]
    assert rec.inputs["firm"]["firm_id"] == example_app["firm"]["firm_id"]


def test_concurrent_requests_are_batched(service_env, example_app, asgi_app):
    import asyncio

    import httpx


    async def go():
        app = asgi_app
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                h = {"X-API-Key": service_env["keys"]["credit_officer"]}
                rs = await asyncio.gather(*[c.post("/v1/loans/score", json=example_app, headers=h) for _ in range(12)])
        return rs

    rs = asyncio.run(go())
    assert all(r.status_code == 200 for r in rs)
    assert len({r.json()["decision"]["loan_id"] for r in rs}) == 12
    sizes = service_env["bundle"].batch_sizes
    assert sum(sizes) == 12 and max(sizes) > 1


def test_health_docs_and_ui_are_public(client):
    for path in ("/healthz", "/readyz", "/livez", "/v1/openapi.json", "/docs.json", "/ui",
                 "/ui/static/app.js"):
        assert client.get(path).status_code == 200, path


def test_openapi_lists_routes_with_contract_schemas(client):
    doc = client.get("/v1/openapi.json").json()
    for p in ("/v1/loans/score", "/v1/loans/score-batch", "/v1/collateral/value", "/v1/trust/tranches", "/v1/models"):
        assert p in doc["paths"], p
    firm = doc["components"]["schemas"]["Firm"]
    from data_contracts import load_contract

    assert set(firm["properties"]) == set(load_contract("firms").column_names)
    assert "X-API-Key" in str(doc["components"]["securitySchemes"])
    assert "/v1/loans/score" in client.get("/docs.json").json()["paths"]


def test_noop_is_hidden_unless_enabled(client, monkeypatch):
    h = _h(client, "credit_officer")
    assert client.post("/v1/noop", json={}, headers=h).status_code == 200


def _pool(n=40, seed=3):
    import numpy as np

    rng = np.random.default_rng(seed)
    return [{"loan_id": f"L{i:06d}", "exposure_at_default": float(rng.uniform(1e6, 5e6)),
             "probability_of_default": float(rng.uniform(0.01, 0.08)), "loss_given_default": float(rng.uniform(0.4, 0.8)),
             "sector": "ai_software"} for i in range(n)]


def test_tranches_sized_to_targets_and_given_points(client):
    h = _h(client, "fund_manager")
    r = client.post("/v1/trust/tranches", json={"pool": _pool(), "method": "lhp"}, headers=h)
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    names = [t["name"] for t in res["tranches"]]
    assert names[0] == "senior" and res["loss_curve"]["x"] and len(res["loss_curve"]["x"]) == len(res["loss_curve"]["y"])
    r = client.post("/v1/trust/tranches", json={"pool": _pool(), "method": "exact", "attachment_points": [0, 0.05, 0.2, 1]},
                    headers=h)
    assert r.status_code == 200, r.text
    tr = r.json()["result"]["tranches"]
    assert [round(t["attachment"], 6) for t in tr] == [0.2, 0.05, 0.0]
    # a more junior tranche never expects to lose less than a senior one
    els = [t["expected_loss"] for t in tr]
    assert els == sorted(els)


def test_tranche_input_errors_are_422(client):
    h = _h(client, "fund_manager")
    pool = _pool()
    pool[3]["probability_of_default"] = 1.5
    r = client.post("/v1/trust/tranches", json={"pool": pool}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "pool[3].probability_of_default"
    r = client.post("/v1/trust/tranches", json={"pool": _pool(), "attachment_points": [0, 0.5, 0.3, 1]}, headers=h)
    assert r.status_code == 422 and "increasing" in r.text
    r = client.post("/v1/trust/tranches", json={"pool": _pool(), "method": "mc", "paths": 10**9}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "paths"


def test_pd_only_path_checks_rows_and_batches(service_env, asgi_app):
    import asyncio

    import httpx


    h = {"X-API-Key": service_env["keys"]["data_scientist"]}
    row = {"leverage": 0.5, "overdue": 1.0, "amount": 1e6}

    async def go():
        app = asgi_app
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                one = await c.post("/v1/pd", json={"records": [row, {**row, "leverage": 0.9}]}, headers=h)
                bad = await c.post("/v1/pd", json={"records": [{"leverage": "x", "overdue": 1.0}]}, headers=h)
                many = await asyncio.gather(*[c.post("/v1/pd", json={"records": [row]}, headers=h) for _ in range(10)])
                anon = await c.post("/v1/pd", json={"records": [row]})
                return one, bad, many, anon

    one, bad, many, anon = asyncio.run(go())
    assert one.status_code == 200, one.text
    p = one.json()
    assert len(p) == 2 and 0 < p[0] < p[1] < 1  # more leverage, higher PD
    assert bad.status_code == 422
    errs = {(e["path"], e["rule"]) for e in bad.json()["errors"]}
    assert ("records[0].leverage", "type") in errs and ("records[0].amount", "not_null") in errs
    assert all(r.status_code == 200 and r.json() == [p[0]] for r in many)
    assert anon.status_code == 401
