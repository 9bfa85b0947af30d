"""The service's state and work, independent of BentoML: config, models, audit, batching.

`Runtime.open(cfg, open_bundle)` loads the registry's models (or pinned versions) and opens the
audit log; a missing registry, model or contract mismatch raises `RegistryError` with one clear
message, so the service refuses to start. Methods return JSON-ready dicts and record decisions in
the audit log before returning (an answer is only sent once its decision is durable).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.errors import IpriskError
from data_contracts.jsonable import jsonable
from models.decision import DecisionConfig
from models.scoring import score_applications, value_patents
from models.wording import summary_line
from pipelines.audit_replay import differences, replay
from pipelines.audit_store import AuditLog, AuditRecord, dumps, now_utc
from pipelines.decision_memo import render_memo
from pipelines.policy import load_policy
from pipelines.registry import load_bundle
from pipelines.serving_config import ServingConfig
from pipelines.tranches_job import evaluate_request
from serving.batcher import AdaptiveBatcher

DECISION_ENDPOINTS = ("loans/score",)
"""Audit endpoints whose records are a credit officer's decisions (one application each)."""
POOL_SCAN_LIMIT = 20_000
"""Most audit records read to build a pool from recent decisions."""

BundleLoader = Callable[[ServingConfig], Any]


class RecordNotFound(IpriskError):
    """No decision with this request id (or not one a credit officer may open): HTTP 404."""

    exit_code = 2
    status = 404


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
    return load_bundle(tracking_uri=cfg.tracking_uri or None, versions=dict(cfg.versions) or None)


class Runtime:
    """Everything a request needs. Thread-safe; `reload()` swaps models atomically.

    `open_bundle(cfg)` loads the models (the registry's by default; tests pass a test double)."""

    def __init__(self, cfg: ServingConfig, bundle: Any, audit: AuditLog, open_bundle: BundleLoader = open_bundle):
        self.cfg = cfg
        self.bundle = bundle
        self.audit = audit
        self._open_bundle = open_bundle
        self._reload_lock = threading.Lock()
        self._policy_decision: DecisionConfig | None = None
        self.score_batcher = AdaptiveBatcher(self._score_many, max_size=cfg.max_batch)
        self.pd_batcher = AdaptiveBatcher(self._pd_many, max_size=cfg.pd_batch_max_size)

    @classmethod
    def open(cls, cfg: ServingConfig, open_bundle: BundleLoader = open_bundle) -> Runtime:
        return cls(cfg, open_bundle(cfg), AuditLog(cfg.audit_target), open_bundle)

    # -- models ----------------------------------------------------------------------------
    @property
    def versions(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.bundle.versions.items()}

    def models(self) -> dict[str, Any]:
        return {"model_versions": self.versions, "metrics": jsonable(dict(self.bundle.metrics)),
                "pd_features": self.pd_feature_names()}

    def reload(self) -> dict[str, str]:
        """Load the registry's champions (or pinned versions) again; keep the old ones on failure."""
        with self._reload_lock:
            self.bundle = self._open_bundle(self.cfg)
        return self.versions

    @property
    def decision_config(self) -> DecisionConfig:
        """The decision policy the sentences quote: the serving bundle's, else the settings'."""
        cfg = getattr(getattr(self.bundle, "policy", None), "decision", None)
        if isinstance(cfg, DecisionConfig):
            return cfg
        if self._policy_decision is None:
            self._policy_decision = load_policy().decision
        return self._policy_decision

    # -- history, memo and replay of decisions ------------------------------------------------
    def decisions(self, caller: str | None, limit: int, offset: int, since: str | None = None,
                  until: str | None = None) -> dict[str, Any]:
        """A page of scored applications (of `caller`, or everyone's when None), newest first."""
        page = self.audit.query(caller=caller, endpoints=DECISION_ENDPOINTS, since=since, until=until, limit=limit, offset=offset)
        rows = [{"request_id": r.request_id, "recorded_at": r.recorded_at, "caller": r.caller,
                 **summary_line(r.outputs or {}, r.inputs or {})} for r in page.records]
        return {"total": page.total, "limit": page.limit, "offset": page.offset, "decisions": rows}

    def decision_record(self, request_id: str) -> AuditRecord:
        """The audited decision `request_id`; RecordNotFound if none (or not a scored application)."""
        rec = self.audit.get(request_id)
        if rec is None or rec.endpoint not in DECISION_ENDPOINTS:
            raise RecordNotFound(f"no scored application with request id {request_id!r} in the audit log")
        return rec

    def memo(self, record: AuditRecord) -> str:
        return render_memo(record, self.decision_config)

    def _bundle_for(self, versions: dict[str, str]) -> Any:
        """The bundle of `versions`: the one being served when they match, else loaded (pinned)."""
        bundle = self.bundle
        if {str(k): str(v) for k, v in bundle.versions.items()} == versions:
            return bundle
        return self._open_bundle(replace(self.cfg, versions=dict(versions)))

    def replay(self, record: AuditRecord) -> dict[str, Any]:
        """Re-score `record` with its recorded model versions; every difference, and whether the
        memo rendered from the replayed decision is the recorded one's."""
        out = replay(record, load=self._bundle_for, max_paths=self.cfg.max_paths)
        diffs = differences(record.outputs, out)
        memo_same = self.memo(record) == self.memo(replace(record, outputs=out))
        return {"identical": not diffs, "n_differences": len(diffs), "memo_identical": memo_same,
                "differences": [{"path": p, "recorded": jsonable(a), "replayed": jsonable(b)} for p, a, b in diffs[:50]]}

    def pool_from_decisions(self, limit: int, include: Sequence[str]) -> dict[str, Any]:
        """A trust-plan pool (pool contract rows) from the audit log's scored applications: the
        latest decision per firm (a re-scored what-if replaces the earlier one), kept when its
        recommendation is in `include`; EAD, PD and LGD as the serving champions decided them."""
        seen: set[Any] = set()
        pool: list[dict[str, Any]] = []
        versions: list[dict[str, str]] = []
        read = offset = 0
        while len(pool) < limit and read < POOL_SCAN_LIMIT:
            page = self.audit.query(endpoints=DECISION_ENDPOINTS, limit=500, offset=offset)
            if not page.records:
                break
            offset += len(page.records)
            for r in page.records:
                read += 1
                d, firm = r.outputs or {}, (r.inputs or {}).get("firm") or {}
                key = firm.get("firm_id") or r.request_id
                if key in seen:
                    continue
                seen.add(key)
                if d.get("recommendation") not in include or d.get("probability_of_default") is None:
                    continue
                pool.append({"loan_id": d.get("loan_id"), "exposure_at_default": d.get("exposure_at_default"),
                             "probability_of_default": min(max(float(d["probability_of_default"]), 0.0), 1.0),
                             "loss_given_default": min(max(float(d.get("loss_given_default") or 0.0), 0.0), 1.0),
                             "lgd_volatility": None, "sector": firm.get("sector"), "region": firm.get("region")})
                if r.model_versions not in versions:
                    versions.append(r.model_versions)
                if len(pool) >= limit:
                    break
        return {"pool": pool, "decisions_read": read, "model_versions": versions}

    # -- loans -----------------------------------------------------------------------------
    def _score_many(self, jobs: Sequence[tuple[str, Any, list[dict], str]]) -> list[list[dict]]:
        """Score several requests' applications in one bundle call and audit them in one commit.

        jobs: (request_id, caller, filled applications, endpoint) per request → decisions per request.
        """
        bundle = self.bundle
        versions = {str(k): str(v) for k, v in bundle.versions.items()}
        apps = [a for _, _, batch, _ in jobs for a in batch]
        decisions = score_applications(bundle, apps)
        out, rows, i = [], [], 0
        when = now_utc()
        vjson = dumps(versions)
        for rid, caller, batch, endpoint in jobs:
            mine = decisions[i:i + len(batch)]
            i += len(batch)
            out.append(mine)
            inputs = batch[0] if endpoint == "loans/score" else batch
            outputs = mine[0] if endpoint == "loans/score" else mine
            rows.append((rid, when, endpoint, caller.name if caller else "", caller.role if caller else "",
                         dumps(inputs), dumps(outputs), vjson))
        self.audit.append_many(rows)
        return [(o, versions) for o in out]

    async def score(self, rid: str, caller: Any, apps: list[dict], endpoint: str) -> tuple[list[dict], dict[str, str]]:
        """Decisions for filled, checked applications (batched with concurrent requests), audited."""
        return await self.score_batcher.submit((rid, caller, apps, endpoint))

    # -- collateral and trust plans ---------------------------------------------------------
    def value_collateral(self, rid: str, caller: Any, patents: list[dict], as_of: Any) -> dict[str, Any]:
        bundle = self.bundle
        result = value_patents(bundle, patents, as_of)
        versions = {str(k): str(v) for k, v in bundle.versions.items()}
        self.audit.append(rid, "collateral/value", caller.name if caller else "", caller.role if caller else "",
                          {"patents": patents, "as_of": str(as_of) if as_of else None}, result, versions)
        return result

    def tranches(self, rid: str, caller: Any, request: dict[str, Any]) -> dict[str, Any]:
        result = evaluate_request(request, self.cfg.max_paths)
        self.audit.append(rid, "trust/tranches", caller.name if caller else "", caller.role if caller else "",
                          request, result, {})
        return result

    # -- PD-only path -------------------------------------------------------------------------
    def pd_feature_names(self) -> list[str]:
        names = getattr(getattr(self.bundle, "pd_model", None), "feature_names_", None)
        return list(names) if names is not None else []

    def pd_rows(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
        """Check feature rows against the PD model's features → (field errors, float64 array (n, k))."""
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
