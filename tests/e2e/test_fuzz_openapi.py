"""Schema-driven fuzzing: schemathesis, with every one of its checks (`--checks all`), generates
requests from the service's published OpenAPI document (/v1/openapi.json) and sends them to a
running `iprisk serve` with real models, once with a key of each role.

What the checks hold the service to: no 5xx; every status, content type, header and body as
documented per operation; schema-valid requests accepted and schema-violating ones refused; the
key enforced (without it or with a wrong one → 401); undeclared methods → 405 with `Allow`. An
operation a role may not call answers 403, which the schema documents. The one narrowed
expectation is explained in tests/e2e/fuzz_checks.py (schema-valid bodies that break a contract
rule JSON Schema cannot state get 422, and only for such rules).

Bounded: each operation's coverage phase once (with the first role allowed to call
it), then `EXAMPLES` generated requests per operation for each role that may call it and
`FORBIDDEN_EXAMPLES` for each role that may not; derandomized; loopback only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_checks import CROSS_FIELD_RULES  # noqa: E402
from servicekit import ROLES, Server, serving_pins  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("service")]
EXAMPLES = 5
FORBIDDEN_EXAMPLES = 2
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
HERE = Path(__file__).parent
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""schemathesis's default expectation for schema-valid requests (positive_data_acceptance)."""


@pytest.fixture(scope="module")
def fuzz_server(trained, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("fuzz"), trained["uri"], trained["home"], serving_pins()).start(timeout=300)
    yield s
    s.stop()


def _roles(path: str) -> frozenset[str]:
    """Roles that may call `path`: those `serving.auth` lists, or every role for a public path."""
    from serving.auth import roles_for

    roles = roles_for(path)
    return frozenset(ROLES) if roles is None else roles


def _toml(value) -> str:
    return json.dumps(value)  # TOML strings, arrays of strings, integers and booleans read as JSON does


def fuzz_config(role: str, paths: list[str]) -> str:
    """schemathesis.toml for one role: per operation, whether its coverage phase runs, how many
    requests are generated, and (for bodies with cross-field rules) 422 as an accepted answer to
    schema-valid data, which fuzz_checks narrows to those rules."""
    lines = ["[generation]", "deterministic = true", f"max-examples = {EXAMPLES}", 'database = "none"', ""]
    for path in paths:
        roles = _roles(path)
        allowed = role in roles
        lines += ["[[operations]]", f"include-path = {_toml(path)}",
                  f"phases.coverage.enabled = {_toml(allowed and role == min(roles))}",
                  f"generation.max-examples = {EXAMPLES if allowed else FORBIDDEN_EXAMPLES}"]
        if path in CROSS_FIELD_RULES:
            lines.append(f"checks.positive_data_acceptance.expected-statuses = {_toml([*POSITIVE_STATUSES, '422'])}")
        lines.append("")
    return "\n".join(lines)


def _statuses(report: Path) -> dict[str, set[int]]:
    """Operation label → the statuses it answered, from schemathesis's NDJSON report."""
    out: dict[str, set[int]] = {}
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        rec = finished["recorder"]
        for interaction in rec.get("interactions", {}).values():
            if interaction.get("response"):
                out.setdefault(rec["label"], set()).add(interaction["response"]["status_code"])
    return out


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_all_checks_pass(fuzz_server, role, tmp_path_factory):
    """Every operation of /v1/openapi.json with this role's key: zero failures of any check; the
    operations the role may not call answered only 403 (and 401 to the key-less probes)."""
    doc = _openapi(fuzz_server.url)
    paths = sorted(doc["paths"])
    assert {"/v1/loans/score", "/v1/trust/tranches", "/v1/models"} <= set(paths)
    work = tmp_path_factory.mktemp(f"fuzz-{role}")
    config = work / "schemathesis.toml"
    config.write_text(fuzz_config(role, paths))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(HERE), SCHEMATHESIS_HOOKS="fuzz_checks", NO_COLOR="1",
               PYTHONPYCACHEPREFIX=str(tmp_path_factory.getbasetemp() / "pycache"))  # compile schemathesis once per session
    cmd = [SCHEMATHESIS, "--config-file", str(config), "run", fuzz_server.url + "/v1/openapi.json", "--checks", "all",
           "-H", f"X-API-Key: {fuzz_server.keys[role]}", "--workers", "1", "--request-timeout", "60", "--no-color",
           "--report", "ndjson", "--report-ndjson-path", str(work / "report.ndjson")]
    run = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert f"Tested: {len(paths)}" in run.stdout, run.stdout[-3000:]
    statuses = _statuses(work / "report.ndjson")
    for path in paths:
        method = next(iter(doc["paths"][path])).upper()
        seen = statuses.get(f"{method} {path}", set())
        if role in _roles(path):
            assert 403 not in seen, (path, seen)
        else:
            assert seen and seen <= {401, 403}, (path, seen)


def _openapi(url: str) -> dict:
    import httpx

    return httpx.get(url + "/v1/openapi.json", timeout=30).json()
