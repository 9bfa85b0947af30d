"""Schema-driven fuzzing: schemathesis generates requests from the service's published OpenAPI
document (/v1/openapi.json) and sends them to a running `iprisk serve` with real models; no
request may get a 5xx. Bounded: a fixed number of examples per operation, loopback only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

sys.path.insert(0, str(Path(__file__).parent))
from servicekit import Server, serving_pins  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("service")]
EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzz_server(trained, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("fuzz"), trained["uri"], trained["home"], serving_pins()).start()
    yield s
    s.stop()


def _fuzz(op, mode: str, url: str, headers: dict, failures: list[str]) -> None:

    @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(base_url=url, headers=headers, timeout=60)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.path} → {response.status_code}: {response.text[:300]}")
        elif response.status_code in (400, 422):
            errs = response.json().get("errors")
            if not errs or not all({"path", "rule", "value"} <= set(e) for e in errs):
                failures.append(f"{case.method} {case.path} → {response.status_code} without field errors: {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:
        # a public operation without parameters or body (e.g. GET /v1/contracts/application) has
        # nothing a schema-violating request could break: only then is negative mode empty
        if mode != "negative" or any(True for _ in op.iter_parameters()) or op.body:
            raise


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_request_gets_a_5xx(fuzz_server, mode):
    """Every operation of /v1/openapi.json, `EXAMPLES` generated requests each (valid-by-schema
    and schema-violating ones), with a key of an allowed role: no 5xx; every 4xx body lists errors."""

    from serving.auth import ROUTE_ROLES

    schema = schemathesis.openapi.from_url(fuzz_server.url + "/v1/openapi.json")
    failures: list[str] = []
    seen = []
    for result in schema.get_all_operations():
        op = result.ok()
        seen.append(f"{op.method.upper()} {op.path}")
        roles = ROUTE_ROLES.get(op.path)
        headers = fuzz_server.headers(sorted(roles)[0]) if roles else {}

        _fuzz(op, mode, fuzz_server.url, headers, failures)
    assert "POST /v1/loans/score" in seen and "POST /v1/trust/tranches" in seen
    assert not failures, "\n".join(failures[:10])
