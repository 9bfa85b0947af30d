"""The service's state and work, independent of BentoML: config, models, keys, audit, batching.

`Runtime.open(cfg)` loads the registry's models (or pinned versions) and opens the audit log; a
missing registry, model or contract mismatch raises `RegistryError` with one clear message, so
the service refuses to start. Methods return JSON-ready dicts and record decisions in the audit
log before returning (an answer is only sent once its decision is durable).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Mapping, Sequence

from data_contracts.errors import ContractViolation, IpriskError, Violation
from serving import scoring
from serving.audit import AuditLog, _dumps, now_utc
from serving.batcher import AdaptiveBatcher
from serving.config import ServingConfig


class RequestRejected(IpriskError):
    """A request broke the contracts: `errors` lists every field error (path, rule, value)."""

    exit_code = 2

    def __init__(self, errors: list[dict[str, Any]], status: int = 422):
        self.errors = errors
        self.status = status
        first = errors[0] if errors else {}
        super().__init__(f"{len(errors)} error(s) in the request; first: {first.get('path')} broke '{first.get('rule')}'")


def open_bundle(cfg: ServingConfig) -> Any:
    """The scoring bundle from the registry: champions, or the versions pinned in `cfg.versions`."""
    from pipelines.registry import load_bundle

    return load_bundle(tracking_uri=cfg.tracking_uri or None, versions=dict(cfg.versions) or None)


_CURRENT: list["Runtime"] = []


def current() -> "Runtime | None":
    """The runtime of the service instance running in this process, if any."""
    return _CURRENT[-1] if _CURRENT else None


class Runtime:
    """Everything a request needs. Thread-safe; `reload()` swaps models atomically."""

    def __init__(self, cfg: ServingConfig, bundle: Any, audit: AuditLog):
        self.cfg = cfg
        self.bundle = bundle
        self.audit = audit
        self._reload_lock = threading.Lock()
        self.score_batcher = AdaptiveBatcher(self._score_many, max_size=cfg.max_batch)
        self.pd_batcher = AdaptiveBatcher(self._pd_many, max_size=cfg.pd_batch_max_size)

    @classmethod
    def open(cls, cfg: ServingConfig) -> "Runtime":
        bundle = open_bundle(cfg)
        rt = cls(cfg, bundle, AuditLog(cfg.audit_target))
        _CURRENT[:] = [rt]
        return rt

    # -- models ----------------------------------------------------------------------------
    @property
    def versions(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.bundle.versions.items()}

    def models(self) -> dict[str, Any]:
        return {"model_versions": self.versions, "metrics": scoring.jsonable(dict(self.bundle.metrics)),
                "pd_features": self.pd_feature_names()}

    def reload(self) -> dict[str, str]:
        """Load the registry's champions (or pinned versions) again; keep the old ones on failure."""
        with self._reload_lock:
            self.bundle = open_bundle(self.cfg)
        return self.versions

    # -- loans -----------------------------------------------------------------------------
    def _score_many(self, jobs: Sequence[tuple[str, Any, list[dict], str]]) -> list[list[dict]]:
        """Score several requests' applications in one bundle call and audit them in one commit.

        jobs: (request_id, caller, filled applications, endpoint) per request → decisions per request.
        """
        bundle = self.bundle
        versions = {str(k): str(v) for k, v in bundle.versions.items()}
        apps = [a for _, _, batch, _ in jobs for a in batch]
        decisions = scoring.score_applications(bundle, apps)
        out, rows, i = [], [], 0
        when = now_utc()
        vjson = _dumps(versions)
        for rid, caller, batch, endpoint in jobs:
            mine = decisions[i:i + len(batch)]
            i += len(batch)
            out.append(mine)
            inputs = batch[0] if endpoint == "loans/score" else batch
            outputs = mine[0] if endpoint == "loans/score" else mine
            rows.append((rid, when, endpoint, caller.name if caller else "", caller.role if caller else "",
                         _dumps(inputs), _dumps(outputs), vjson))
        self.audit.append_many(rows)
        return [(o, versions) for o in out]

    async def score(self, rid: str, caller: Any, apps: list[dict], endpoint: str) -> tuple[list[dict], dict[str, str]]:
        """Decisions for filled, checked applications (batched with concurrent requests), audited."""
        return await self.score_batcher.submit((rid, caller, apps, endpoint))

    # -- collateral and trust plans ---------------------------------------------------------
    def value_collateral(self, rid: str, caller: Any, patents: list[dict], as_of: Any) -> dict[str, Any]:
        bundle = self.bundle
        result = scoring.value_collateral(bundle, patents, as_of)
        versions = {str(k): str(v) for k, v in bundle.versions.items()}
        self.audit.append(rid, "collateral/value", caller.name if caller else "", caller.role if caller else "",
                          {"patents": patents, "as_of": str(as_of) if as_of else None}, result, versions)
        return result

    def tranches(self, rid: str, caller: Any, request: dict[str, Any]) -> dict[str, Any]:
        from serving.tranches import evaluate

        result = evaluate(request, self.cfg)
        self.audit.append(rid, "trust/tranches", caller.name if caller else "", caller.role if caller else "",
                          request, result, {})
        return result

    # -- PD-only path -------------------------------------------------------------------------
    def pd_feature_names(self) -> list[str]:
        names = getattr(getattr(self.bundle, "pd_model", None), "feature_names_", None)
        return list(names) if names is not None else []

    def pd_rows(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
        """Check feature rows against the PD model's features → (field errors, float64 array (n, k))."""
        import math

        import numpy as np

        names = self.pd_feature_names()
        errors: list[dict[str, Any]] = []
        X = np.empty((len(records), len(names)))
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                errors.append({"path": f"records[{i}]", "rule": "type", "value": rec, "message": "expected an object"})
                continue
            for j, f in enumerate(names):
                v = rec.get(f, _MISSING)
                if v is _MISSING:
                    errors.append({"path": f"records[{i}].{f}", "rule": "not_null", "value": None, "message": "feature missing"})
                elif v is None:
                    X[i, j] = math.nan  # the model treats it as missing
                elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    errors.append({"path": f"records[{i}].{f}", "rule": "type", "value": v if isinstance(v, (int, float, str)) else repr(v),
                                   "message": "expected a finite number or null"})
                else:
                    X[i, j] = v
            unknown = sorted(set(rec) - set(names))
            for f in unknown[:5]:
                errors.append({"path": f"records[{i}].{f}", "rule": "unknown_field", "value": rec[f], "message": "not a feature of the PD model"})
        return errors, X

    def _pd_many(self, blocks: Sequence[Any]) -> list[list[float]]:
        import numpy as np
        import pandas as pd

        names = self.pd_feature_names()
        X = np.vstack(blocks)
        p = self.bundle.predict_pd(pd.DataFrame(X, columns=names))
        out, i = [], 0
        for b in blocks:
            out.append([float(v) for v in p[i:i + len(b)]])
            i += len(b)
        return out

    async def predict_pd(self, X: Any) -> list[float]:
        """The PD-only path: checked feature rows (n, k) → PD per row (batched with concurrent calls)."""
        return await self.pd_batcher.submit(X)


_MISSING = object()
