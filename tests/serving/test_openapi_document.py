"""The published OpenAPI documents say what the service does: every status per operation (with its
headers), 405 with `Allow`, and request schemas exactly as strict as the contracts (checked by
validating bodies against /v1/openapi.json and sending them to the service)."""

import copy

import pytest
from jsonschema import Draft202012Validator

from data_contracts import load_contract
from data_contracts.validate import _TEXT_NULL_WORDS, _is_null, check_record, not_blank_pattern
from serving.auth import ROUTE_ROLES

STATUSES = {"200", "400", "401", "403", "405", "413", "422", "503"}


def _h(c, role):
    return {"X-API-Key": c.env["keys"][role]}


@pytest.fixture
def doc(client):
    return client.get("/v1/openapi.json").json()


def _valid(doc, model: str, body) -> bool:
    """Does `body` fit component schema `model` of the OpenAPI document (JSON Schema 2020-12, formats checked)?"""
    schema = {"$ref": f"#/components/schemas/{model}", "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(body)


def test_every_operation_documents_every_status_with_its_headers(client, doc):
    ops = [(p, m, o) for p, item in doc["paths"].items() for m, o in item.items()]
    assert {p for p, _, _ in ops} >= {"/v1/loans/score", "/v1/loans/score-batch", "/v1/collateral/value",
                                      "/v1/trust/tranches", "/v1/models", "/v1/models/reload"}
    for path, method, op in ops:
        responses = op["responses"]
        public = path not in ROUTE_ROLES  # e.g. the application form: no key, so no 401/403
        assert set(responses) >= (STATUSES - {"401", "403", "422"} if public else STATUSES), (method, path)
        for status, r in responses.items():
            assert r["headers"]["X-Request-ID"]["required"], (path, status)
        assert responses["405"]["headers"]["Allow"]["required"]
        if public:
            assert "security" not in op, path
            continue
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"]
        assert op["security"] == [{"APIKeyHeader": []}]
    # BentoML's /docs.json: the same for the mounted routes and for its native route POST /v1/pd
    bento = client.get("/docs.json").json()
    for path, item in bento["paths"].items():
        if path.startswith("/v1/") and path in ROUTE_ROLES:
            op = next(iter(item.values()))
            assert set(map(str, op["responses"])) >= STATUSES, path
            assert op["security"] == [{"APIKeyHeader": []}], path
    assert "404" not in bento["paths"]["/v1/pd"]["post"]["responses"]


def test_a_wrong_method_is_405_with_allow_after_the_key_check(client, example_app):
    r = client.get("/v1/loans/score", headers=_h(client, "credit_officer"))
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["request_id"] == r.headers["x-request-id"] and r.json()["errors"] == []
    r = client.post("/v1/models", headers=_h(client, "data_scientist"))
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = client.get("/v1/pd", headers=_h(client, "data_scientist"))  # BentoML's own route: same answer
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["error"] == "Method Not Allowed"
    assert client.get("/v1/loans/score").status_code == 401
    assert client.get("/v1/loans/score", headers=_h(client, "fund_manager")).status_code == 403


def test_pd_route_refusals_have_the_api_error_body(client):
    h = {**_h(client, "data_scientist"), "content-type": "application/json"}
    r = client.post("/v1/pd", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["rule"] == "json"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    r = client.post("/v1/pd", content=b'{"records": 3}', headers=h)
    assert r.status_code == 422 and (r.json()["errors"][0]["path"], r.json()["errors"][0]["rule"]) == ("records", "type")
    r = client.post("/v1/pd", content=b'{"records": []}', headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "min_items"
    r = client.post("/v1/pd", content=b'--x\r\n', headers={**h, "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 415 and r.json()["errors"][0]["rule"] == "content_type"  # BentoML would try another decoder


def test_unparseable_json_is_400_naming_the_body(client):
    r = client.post("/v1/loans/score", content=b'{"firm": ', headers={**_h(client, "credit_officer"),
                                                                      "content-type": "application/json"})
    assert r.status_code == 400
    assert [(e["path"], e["rule"]) for e in r.json()["errors"]] == [("body", "json")]


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\x1c", "\x85", "\u3000", "\u2028", "L1", " L1 ", "\ufeff", "\u200b", "\x00"])
def test_required_text_fits_the_schema_exactly_when_the_contract_reads_it_as_not_null(client, doc, text):
    """pool[0].loan_id = "" used to pass the schema and be refused as not_null; now the schema and
    the contract agree on every kind of blank (Python's whitespace, not only JSON Schema's \\s)."""
    pool = load_contract("pool")
    loan = {"loan_id": text, "exposure_at_default": 1e6, "probability_of_default": 0.02, "loss_given_default": 0.5}
    contract_ok = not check_record(loan, pool)
    assert contract_ok == (not _is_null(text, _TEXT_NULL_WORDS))
    assert _valid(doc, "PoolLoan", loan) == contract_ok
    r = client.post("/v1/trust/tranches", json={"pool": [loan, {**loan, "loan_id": "other"}], "method": "lhp"},
                    headers=_h(client, "fund_manager"))
    assert (r.status_code == 200) == contract_ok, r.text
    if not contract_ok:
        assert r.json()["errors"][0]["path"] == "pool[0].loan_id"


def test_the_non_blank_pattern_is_the_validators_null_rule():
    import re
    import sys

    rx = re.compile(not_blank_pattern())
    for c in map(chr, range(sys.maxunicode + 1)):
        assert (rx.search(c) is None) == _is_null(c, _TEXT_NULL_WORDS), hex(ord(c))


# each: (where, value, fits the schema); the schema and the service must agree
MUTATIONS = [
    (("firm", "employees"), "240", False),          # text is not an integer
    (("firm", "employees"), 240.0, True),           # JSON Schema's integer: no fractional part
    (("firm", "employees"), 240.5, False),
    (("firm", "employees"), True, False),           # a boolean is not an integer
    (("firm", "employees"), 0, False),              # minimum 1
    (("firm", "revenue"), "86000000", False),       # text is not a number
    (("firm", "high_tech_certified"), 1, False),    # 1 is not a boolean
    (("firm", "high_tech_certified"), "true", False),
    (("firm", "founding_date"), "2012-05-14T00:00:00", False),  # a date, not a date-time
    (("firm", "founding_date"), "20120514", False),
    (("firm", "founding_date"), 1336953600, False),
    (("firm", "founding_date"), "2012-02-30", False),
    (("firm", "sector"), "casino", False),
    (("firm", "firm_id"), "F12", False),            # the contract's pattern
    (("firm", "interest_coverage"), None, True),    # nullable
    (("firm", "revenue"), None, False),
    (("loan", "loan_id"), None, True),              # optional: derived from the request id
    (("loan", "loan_id"), "", False),
    (("loan", "firm_id"), " ", False),              # optional, but blank is null and null is refused
    (("loan", "currency"), "USD", False),
    (("patents", 0, "ipc_main"), "G06", False),
    (("patents", 0, "grant_date"), None, True),
]


@pytest.mark.parametrize("where,value,fits", MUTATIONS, ids=[f"{'.'.join(map(str, w))}={v!r}" for w, v, _ in MUTATIONS])
def test_application_schema_and_service_agree(client, doc, example_app, where, value, fits):
    body = copy.deepcopy(example_app)
    target = body
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    assert _valid(doc, "Application", body) == fits
    r = client.post("/v1/loans/score", json=body, headers=_h(client, "credit_officer"))
    assert r.status_code == (200 if fits else 422), r.text


TRANCHE_BODIES = [
    ({"coupons": [0.05, 0.1]}, False),                                                 # coupons go with attachment points
    ({"attachment_points": [0, 0.1, 1], "coupons": [0.05]}, False),                   # one coupon per tranche
    ({"attachment_points": [0, 0.1, 1], "coupons": [0.05, 0.12]}, True),
    ({"attachment_points": [0, 0.1, 1.5]}, False),
    ({"targets": {"senior": 0.002}}, True),
    ({"targets": {"first_loss": 0.5}}, False),                                         # the junior class has no target
    ({"targets": {"senior": 2}}, False),
    ({"paths": 10**9, "method": "mc"}, False),                                         # serving.max_paths
    ({"paths": 2000, "method": "mc", "seed": 3}, True),
    ({"method": "mc", "seed": -1}, False),
    ({"correlation": 1.0}, False),
]


@pytest.mark.parametrize("extra,fits", TRANCHE_BODIES, ids=[str(e) for e, _ in TRANCHE_BODIES])
def test_tranche_schema_and_service_agree(client, doc, extra, fits):
    pool = [{"loan_id": f"L{i:06d}", "exposure_at_default": 1e6 + i, "probability_of_default": 0.02 + i / 1000,
             "loss_given_default": 0.5} for i in range(30)]
    body = {"pool": pool, "method": "lhp", **extra}
    assert _valid(doc, "TrancheRequest", body) == fits
    r = client.post("/v1/trust/tranches", json=body, headers=_h(client, "fund_manager"))
    assert r.status_code == (200 if fits else 422), r.text
