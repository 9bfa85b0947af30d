"""Replaying an audited decision: re-score its recorded inputs with its recorded model versions
through the service's own code path, and list every difference from the recorded outputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from data_contracts.errors import InputError
from models.scoring import score_applications, value_patents
from pipelines.audit_store import AuditRecord
from pipelines.registry import load_bundle
from pipelines.serving_config import load_config
from pipelines.tranches_job import evaluate_request

REPLAYABLE = ("loans/score", "loans/score-batch", "collateral/value", "trust/tranches")
"""Endpoints whose audit records can be replayed."""
REL_TOL = 1e-9
ABS_TOL = 1e-12


def differences(recorded: Any, replayed: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, recorded, replayed) for every leaf that differs (floats within REL_TOL/ABS_TOL agree)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        out = []
        for k in sorted(set(recorded) | set(replayed), key=str):
            out += differences(recorded.get(k), replayed.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(recorded, list) and isinstance(replayed, list):
        if len(recorded) != len(replayed):
            return [(f"{path}.length", len(recorded), len(replayed))]
        out = []
        for i, (a, b) in enumerate(zip(recorded, replayed)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    if isinstance(recorded, (int, float)) and isinstance(replayed, (int, float)) \
            and not isinstance(recorded, bool) and not isinstance(replayed, bool):
        if math.isclose(recorded, replayed, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
        return [(path, recorded, replayed)]
    return [] if recorded == replayed else [(path, recorded, replayed)]


def replay(record: AuditRecord, tracking_uri: str | None = None,
           load: Callable[[dict[str, str]], Any] | None = None, max_paths: int | None = None) -> Any:
    """The outputs the recorded inputs give today with the recorded model versions.

    `load(versions)` gives the scoring bundle of those versions (default: from the registry at
    `tracking_uri`; the service passes its own loader, which reuses the bundle it serves when the
    versions are the same). `max_paths`: Monte Carlo bound of a tranche request (default: settings)."""
    if record.endpoint == "trust/tranches":
        return evaluate_request(record.inputs, load_config().max_paths if max_paths is None else max_paths)
    if record.endpoint not in REPLAYABLE:
        raise InputError(f"audit record {record.request_id}: cannot replay endpoint {record.endpoint!r}")
    bundle = (load or (lambda v: load_bundle(tracking_uri=tracking_uri, versions=v)))(dict(record.model_versions))
    if record.endpoint == "loans/score":
        return score_applications(bundle, [record.inputs])[0]
    if record.endpoint == "loans/score-batch":
        return score_applications(bundle, record.inputs)
    if record.endpoint == "collateral/value":
        return value_patents(bundle, record.inputs["patents"], record.inputs.get("as_of"))
    raise InputError(f"audit record {record.request_id}: cannot replay endpoint {record.endpoint!r}")
