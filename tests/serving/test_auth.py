"""Access rules (`serving.auth.ROUTE_ROLES`) over every guarded route: each role either gets through
(any answer but 401/403) or gets 403; no key, an unknown key or a revoked one gets 401."""

from __future__ import annotations

import pytest

from pipelines.key_store import ROLES, create_key, revoke_key
from serving.auth import ROUTE_ROLES

CASES = [(path, role) for path in sorted(ROUTE_ROLES) for role in ROLES]


def _call(client, path: str, headers: dict):
    if path == "/v1/models":
        return client.get(path, headers=headers)
    return client.post(path, json={}, headers=headers)  # an empty body: the route's own checks answer, not the guard


@pytest.mark.parametrize("path,role", CASES, ids=[f"{p}-{r}" for p, r in CASES])
def test_each_role_gets_through_only_where_allowed(client, path, role):
    r = _call(client, path, {"X-API-Key": client.env["keys"][role]})
    assert r.headers["x-request-id"]
    if role in ROUTE_ROLES[path]:
        assert r.status_code not in (401, 403) and r.status_code < 500, (r.status_code, r.text)
    else:
        assert r.status_code == 403, r.text
        body = r.json()
        assert role in body["error"] and body["request_id"] == r.headers["x-request-id"] and body["errors"] == []


@pytest.mark.parametrize("path", sorted(ROUTE_ROLES))
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "ipr_000000000000_unknownsecret"}, {"X-API-Key": "not-a-key"},
                                     {"Authorization": "Bearer ipr_000000000000_unknownsecret"}, {"Authorization": "Basic eDp5"}],
                         ids=["none", "unknown", "malformed", "unknown-bearer", "basic"])
def test_no_or_unknown_key_is_401(client, path, headers):
    r = _call(client, path, headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "ApiKey" and r.json()["request_id"] == r.headers["x-request-id"]


def test_bearer_key_is_accepted_like_the_header(client):
    r = client.get("/v1/models", headers={"Authorization": "Bearer " + client.env["keys"]["data_scientist"]})
    assert r.status_code == 200


def test_a_new_key_works_and_a_revoked_key_is_refused_at_once(client):
    keys_file = client.env["config"].keys_path
    key = create_key(keys_file, "data_scientist", name="short-lived")
    assert client.get("/v1/models", headers={"X-API-Key": key}).status_code == 200  # no restart needed
    revoke_key(keys_file, key.split("_")[1])
    assert client.get("/v1/models", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/v1/models", headers={"X-API-Key": client.env["keys"]["data_scientist"]}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez", "/v1/openapi.json", "/docs.json", "/ui"])
def test_public_paths_need_no_key(client, path):
    assert client.get(path).status_code == 200
