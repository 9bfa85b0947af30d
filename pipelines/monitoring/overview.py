"""What the data scientist's page shows: serving model versions with their aliases, the gate
verdicts of recent training runs with their reasons, the latest monitoring windows with plots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from data_contracts.errors import RegistryError
from pipelines import registry
from pipelines.monitoring.job import latest_summary

RECENT_VERSIONS = 8


def _run_link(run_id: str | None) -> dict[str, str | None]:
    """Where to find a run and its validation report: an HTTP link when the tracking server has a UI,
    else the artefact URI to open with `mlflow ui` or the file system."""
    if not run_id:
        return {"run_url": None, "report_uri": None}
    uri = mlflow.get_tracking_uri()
    client = MlflowClient()
    run = client.get_run(run_id)
    web = f"{uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run_id}" if uri.startswith("http") else None
    return {"run_url": web, "report_uri": f"{run.info.artifact_uri}/validation_report/validation_report.html"}


def model_overview(serving: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per book model: serving version, aliases, and the latest versions with their gate verdicts."""
    client = MlflowClient()
    out = []
    try:
        for kind, name in registry.BOOK_MODELS.items():
            try:
                aliases = dict(client.get_registered_model(name).aliases or {})
            except MlflowException as e:
                if e.error_code == registry.NOT_FOUND:
                    out.append({"kind": kind, "name": name, "serving_version": serving.get(name), "aliases": {}, "versions": []})
                    continue
                raise
            by_version: dict[str, list[str]] = {}
            for a, v in aliases.items():
                by_version.setdefault(str(v), []).append(a)
            versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda m: -int(m.version))[:RECENT_VERSIONS]
            rows = []
            for mv in versions:
                tags = dict(mv.tags or {})
                rows.append({"version": str(mv.version), "aliases": sorted(by_version.get(str(mv.version), [])),
                             "created": int(mv.creation_timestamp or 0), "run_id": mv.run_id,
                             "gate_decision": tags.get("gate.decision"), "gate_reason": tags.get("gate.reason"),
                             "gate_metric": tags.get("gate.metric"), "challenger_metric": tags.get("gate.challenger_metric"),
                             "champion_metric": tags.get("gate.champion_metric"), **_run_link(mv.run_id)})
            out.append({"kind": kind, "name": name, "serving_version": serving.get(name), "aliases": aliases, "versions": rows})
    except (MlflowException, OSError) as e:
        raise RegistryError(f"registry {mlflow.get_registry_uri()}: cannot list model versions ({str(e).splitlines()[0][:200]})") from e
    return out


def data_scientist_overview(serving: Mapping[str, str]) -> dict[str, Any]:
    """The page's content (JSON-ready): models with gate verdicts, and the latest monitoring run."""
    latest = latest_summary()
    if latest is not None:
        keep = ("verdict", "model", "model_version", "audit_store", "window", "since", "until", "decisions", "windows",
                "backtest", "mlflow_run_id", "report", "plots", "seconds")
        latest = {k: latest.get(k) for k in keep}
        for w in latest.get("windows") or []:
            w.pop("score_shares", None)
    return {"models": model_overview(serving), "monitoring": latest}
