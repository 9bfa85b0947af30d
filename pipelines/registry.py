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


def load_policy():
    """The bank's policy (grades, limits, price, thresholds, collateral rules) from the settings."""
    from models.collateral import CollateralScoreConfig
    from models.decision import DecisionConfig, LimitsConfig, MasterScale, PricingConfig
    from models.scoring import RiskPolicy
    from pipelines.settings import load_section, recovery_discount_rate

    return RiskPolicy(
        master_scale=load_section("master_scale", MasterScale),
        limits=load_section("limits", LimitsConfig),
        pricing=load_section("pricing", PricingConfig),
        decision=load_section("decision", DecisionConfig),
        collateral=load_section("collateral", CollateralScoreConfig),
        discount_rate=recovery_discount_rate(),
    )


def load_bundle(tracking_uri: str | None = None, versions: Mapping[str, str] | None = None):
    """The serving bundle: the loan-book champions (or pinned versions: model name → version).

    Raises `RegistryError` naming the registry and the model when one is missing, and `ModelError`
    when a model does not fit the current contracts (feature columns the builder no longer makes).
    """
    from data_contracts import core_contracts
    from data_contracts.errors import ModelError
    from models.scoring import ScoringBundle
    from pipelines import tracking

    tracking.connect(tracking_uri, create_experiment=False)
    pinned = dict(versions or {})
    loaded: dict[str, tuple[Any, str]] = {}
    for kind, name in BOOK_MODELS.items():
        loaded[kind] = load_wrapper(name, pinned.get(name, CHAMPION))
    pd_w = loaded["pd"][0]
    current = {t: c.version for t, c in core_contracts().items()}
    trained = dict(getattr(pd_w, "contract_versions", {}) or {})
    stale = {t: (v, current.get(t)) for t, v in trained.items() if current.get(t) is not None and v.split(".")[0] != current[t].split(".")[0]}
    if stale:
        raise ModelError(
            f"model '{BOOK_MODELS['pd']}' v{loaded['pd'][1]} was trained on contract versions that no longer fit: "
            + ", ".join(f"{t} {a} (now {b})" for t, (a, b) in stale.items()) + "; retrain with `iprisk train --data DIR`"
        )
    versions_out = {BOOK_MODELS[k]: v for k, (_, v) in loaded.items()}
    metrics = {}
    for name, v in versions_out.items():
        try:
            info = version_info(name, v)
            metrics[name] = {k: val for k, val in info["metrics"].items() if k.split(".")[-1] in HEADLINE_METRICS}
        except Exception:
            metrics[name] = {}
    return ScoringBundle(
        feature_builder=pd_w.feature_builder,
        pd_model=pd_w.pd_model,
        recovery_model=loaded["recovery"][0].recovery_model,
        scorecard=loaded["scorecard"][0].scorecard,
        policy=load_policy(),
        versions=versions_out,
        metrics=metrics,
    )


HEADLINE_METRICS = ("auc", "gini", "ks", "brier", "auc_to_oracle", "jeffreys_pass_share", "mean_pd_in_interval", "lgd_mae", "lgd_bias", "psi_score")
