"""The MLflow model registry: names, registration without orphans, aliases, gate verdicts, loading.

Registered models: `iprisk-pd`, `iprisk-scorecard`, `iprisk-recovery` for the loan book, and
`iprisk-pd-<table>` / `iprisk-scorecard-<table>` for a bring-your-own-data table. Aliases:
`champion` (what serves) and `challenger` (the latest candidate that was not promoted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_contracts.errors import RegistryError
from pipelines.promotion import GateDecision

CHAMPION = "champion"
CHALLENGER = "challenger"
BOOK_MODELS = {"pd": "iprisk-pd", "scorecard": "iprisk-scorecard", "recovery": "iprisk-recovery"}


def byod_models(table: str) -> dict[str, str]:
    return {"pd": f"iprisk-pd-{table}", "scorecard": f"iprisk-scorecard-{table}"}


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def register_all(model_uris: Mapping[str, str], names: Mapping[str, str], tags: Mapping[str, str]) -> dict[str, str]:
    """Register every logged model (kind → `models:/…` URI) under its name; all or nothing.

    If any registration fails, the versions created so far are deleted, so a failed run leaves
    no orphan version. Returns kind → version.
    """
    import mlflow

    client = _client()
    done: dict[str, tuple[str, str]] = {}
    try:
        for kind, uri in model_uris.items():
            mv = mlflow.register_model(uri, names[kind], tags=dict(tags))
            done[kind] = (names[kind], str(mv.version))
    except Exception as e:
        for name, version in done.values():
            try:
                client.delete_model_version(name, version)
            except Exception:  # best effort; the original error matters more
                pass
        raise RegistryError(f"registering models failed, nothing registered: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from e
    return {k: v for k, (_, v) in done.items()}


def rollback(names_versions: Mapping[str, str]) -> None:
    """Delete model versions (name → version), e.g. when a later step of the run failed."""
    client = _client()
    for name, version in names_versions.items():
        try:
            client.delete_model_version(name, version)
        except Exception:
            pass


def alias_version(name: str, alias: str = CHAMPION) -> str | None:
    """The version an alias points to, or None when the model or alias does not exist."""
    try:
        return str(_client().get_model_version_by_alias(name, alias).version)
    except Exception:
        return None


def apply_gate(decision: GateDecision, name: str) -> None:
    """Record the verdict on the model version (tags) and move the aliases accordingly."""
    client = _client()
    for k, v in decision.as_tags().items():
        client.set_model_version_tag(name, decision.version, k, v)
    if decision.decision == "promoted":
        client.set_registered_model_alias(name, CHAMPION, decision.version)
        if alias_version(name, CHALLENGER) is not None:
            client.delete_registered_model_alias(name, CHALLENGER)
    else:
        client.set_registered_model_alias(name, CHALLENGER, decision.version)


def model_uri(name: str, version_or_alias: str) -> str:
    ref = f"@{version_or_alias}" if not str(version_or_alias).isdigit() else f"/{version_or_alias}"
    return f"models:/{name}{ref}"


def load_wrapper(name: str, version_or_alias: str = CHAMPION) -> tuple[Any, str]:
    """Load a registered pyfunc and return (its python wrapper, the concrete version)."""
    import mlflow

    client = _client()
    try:
        if str(version_or_alias).isdigit():
            version = str(client.get_model_version(name, str(version_or_alias)).version)
        else:
            version = str(client.get_model_version_by_alias(name, version_or_alias).version)
    except Exception as e:
        raise RegistryError(
            f"registry {mlflow.get_tracking_uri()}: model '{name}' has no version '{version_or_alias}' "
            f"(train and promote one first: `iprisk train --data DIR`)"
        ) from e
    try:
        loaded = mlflow.pyfunc.load_model(model_uri(name, version))
    except Exception as e:
        raise RegistryError(f"model '{name}' v{version} cannot be loaded: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from e
    return loaded.unwrap_python_model(), version


def version_info(name: str, version: str) -> dict[str, Any]:
    """Tags and run metrics of a version (for `GET /v1/models` and `iprisk evaluate`)."""
    import mlflow

    client = _client()
    mv = client.get_model_version(name, version)
    metrics: dict[str, float] = {}
    if mv.run_id:
        try:
            metrics = dict(mlflow.get_run(mv.run_id).data.metrics)
        except Exception:
            metrics = {}
    return {"name": name, "version": str(version), "run_id": mv.run_id, "tags": dict(mv.tags or {}), "metrics": metrics}


def pd_model_uri(version: str | None = None) -> str:
    """URI of the PD model for `mlflow models serve` (champion unless a version is given)."""
    return model_uri(BOOK_MODELS["pd"], version or CHAMPION)
