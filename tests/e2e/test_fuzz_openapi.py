"""Schema-driven fuzzing: schemathesis generates requests from the service's published OpenAPI
document (/v1/openapi.json) and sends them to a running `iprisk serve` with real models; no
request may get a 5xx. Bounded: a fixed number of examples per operation, loopback only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))
from servicekit import Server, serving_pins  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("service")]
EXAMPLES = 20


@pytest.fixture(scope="module")
def fuzz_server(trained, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("fuzz"), trained["uri"], trained["home"], serving_pins()).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(fuzz_server.url + "/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_5xx(case, fuzz_server):
    from serving.auth import ROUTE_ROLES

    roles = ROUTE_ROLES.get(case.path)
    headers = fuzz_server.headers(sorted(roles)[0]) if roles else {}
    response = case.call(base_url=fuzz_server.url, headers=headers, timeout=60)
    assert response.status_code < 500, f"{case.method} {case.path} → {response.status_code}: {response.text[:500]}"
    if response.status_code in (400, 422):
        body = response.json()
        assert body["errors"] and all({"path", "rule", "value"} <= set(e) for e in body["errors"])
