"""The MLflow model registry: names, registration without orphans, aliases, gate verdicts, loading.

Registered models: `iprisk-pd`, `iprisk-scorecard`, `iprisk-recovery` for the loan book, and
`iprisk-pd-<table>` / `iprisk-scorecard-<table>` for a bring-your-own-data table. Aliases:
`champion` (what serves) and `challenger` (the latest candidate that was not promoted).

Fail-safe: "this model or alias does not exist" is an answer (None); anything else the registry
says — unreachable, a timeout, a malformed answer — raises `RegistryError` naming the call that
failed. Callers never mistake a registry hiccup for "no champion yet".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from data_contracts import core_contracts
from data_contracts.errors import ModelError, RegistryError
from models.scoring import ScoringBundle
from pipelines import tracking
from pipelines.policy import load_policy
from pipelines.promotion import GateDecision

CHAMPION = "champion"
CHALLENGER = "challenger"
BOOK_MODELS = {"pd": "iprisk-pd", "scorecard": "iprisk-scorecard", "recovery": "iprisk-recovery"}
OPTIONAL_BOOK_MODELS = frozenset({"scorecard"})
"""Book models a bundle loads when they have a champion and does without otherwise: the scorecard is
held to the same calibration checks as the PD role (it may hold that role itself, as `iprisk-pd`),
so on a book where it fails them decisions carry no scorecard second opinion (`"scorecard": null`)."""
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"

HEADLINE_METRICS = ("auc", "gini", "ks", "brier", "auc_to_oracle", "jeffreys_pass_share", "mean_pd_in_interval",
                    "lgd_mae", "lgd_bias", "psi_score")


def byod_models(table: str) -> dict[str, str]:
    return {"pd": f"iprisk-pd-{table}", "scorecard": f"iprisk-scorecard-{table}"}


def _client() -> MlflowClient:
    return MlflowClient()


def _first_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"


def _failed(call: str, e: BaseException) -> RegistryError:
    return RegistryError(f"registry {mlflow.get_registry_uri()}: {call} failed ({_first_line(e)})")


def register_all(model_uris: Mapping[str, str], names: Mapping[str, str], tags: Mapping[str, str]) -> dict[str, str]:
    """Register every logged model (kind → `models:/…` URI) under its name; all or nothing.

    If any registration fails, the versions created so far are deleted, so a failed run leaves
    no orphan version. Returns kind → version.
    """
    done: dict[str, tuple[str, str]] = {}
    try:
        for kind, uri in model_uris.items():
            mv = mlflow.register_model(uri, names[kind], tags=dict(tags))
            done[kind] = (names[kind], str(mv.version))
    except (MlflowException, OSError) as e:
        left = rollback(dict(done.values()))
        extra = f"; could not delete {left}" if left else ""
        raise RegistryError(f"registering models failed, nothing registered{extra}: {_first_line(e)}") from e
    return {k: v for k, (_, v) in done.items()}


def rollback(names_versions: Mapping[str, str]) -> dict[str, str]:
    """Delete model versions (name → version), e.g. when a later step of the run failed.

    Best effort: the error that caused the rollback matters more. Returns what could not be deleted."""
    client = _client()
    left = {}
    for name, version in names_versions.items():
        try:
            client.delete_model_version(name, version)
        except (MlflowException, OSError):
            left[name] = version
    return left


def restore_aliases(previous: Mapping[str, tuple[str | None, str | None]]) -> dict[str, str]:
    """Put the champion and challenger aliases back as they were (name → (champion, challenger)
    versions, None = no alias). Best effort; returns {name: what could not be restored}."""
    client = _client()
    problems = {}
    for name, pair in previous.items():
        for alias, version in zip((CHAMPION, CHALLENGER), pair):
            try:
                now = alias_version(name, alias)
                if now == version:
                    continue
                if version is None:
                    client.delete_registered_model_alias(name, alias)
                else:
                    client.set_registered_model_alias(name, alias, version)
            except (MlflowException, OSError, RegistryError) as e:
                problems[f"{name}@{alias}"] = f"should be {version or 'unset'} ({_first_line(e)})"
    return problems


def alias_version(name: str, alias: str = CHAMPION) -> str | None:
    """The version an alias points to; None when the model or the alias does not exist.

    Raises `RegistryError` when the registry cannot answer (never None for an error)."""
    try:
        rm = _client().get_registered_model(name)
    except MlflowException as e:
        if e.error_code == NOT_FOUND:
            return None
        raise _failed(f"get_registered_model({name!r})", e) from e
    except OSError as e:
        raise _failed(f"get_registered_model({name!r})", e) from e
    version = (rm.aliases or {}).get(alias)
    return None if version is None else str(version)


def latest_version(name: str) -> str | None:
    """The newest registered version of a model, whatever its aliases; None when it has none.

    Raises `RegistryError` when the registry cannot answer."""
    try:
        versions = _client().search_model_versions(f"name = '{name}'")
    except (MlflowException, OSError) as e:
        raise _failed(f"search_model_versions({name!r})", e) from e
    return max((str(v.version) for v in versions), key=int, default=None)


def apply_gate(decision: GateDecision, name: str) -> None:
    """Record the verdict on the model version (tags) and move the aliases accordingly."""
    client = _client()
    step = "set_model_version_tag"
    try:
        for k, v in decision.as_tags().items():
            client.set_model_version_tag(name, decision.version, k, v)
        if decision.decision == "promoted":
            step = "set_registered_model_alias(champion)"
            client.set_registered_model_alias(name, CHAMPION, decision.version)
            if alias_version(name, CHALLENGER) is not None:
                step = "delete_registered_model_alias(challenger)"
                client.delete_registered_model_alias(name, CHALLENGER)
        else:
            step = "set_registered_model_alias(challenger)"
            client.set_registered_model_alias(name, CHALLENGER, decision.version)
    except (MlflowException, OSError) as e:
        raise _failed(f"{step} for {name} v{decision.version}", e) from e


def model_uri(name: str, version_or_alias: str) -> str:
    ref = f"@{version_or_alias}" if not str(version_or_alias).isdigit() else f"/{version_or_alias}"
    return f"models:/{name}{ref}"


def load_wrapper(name: str, version_or_alias: str = CHAMPION) -> tuple[Any, str]:
    """Load a registered pyfunc and return (its python wrapper, the concrete version).

    Raises `RegistryError` naming the model when the version or alias does not exist, when the
    registry cannot answer, or when the artefact cannot be loaded."""
    client = _client()
    try:
        if str(version_or_alias).isdigit():
            version = str(client.get_model_version(name, str(version_or_alias)).version)
        else:
            version = alias_version(name, str(version_or_alias))
            if version is None:
                raise RegistryError(
                    f"registry {mlflow.get_registry_uri()}: model '{name}' has no version '{version_or_alias}' "
                    f"(train and promote one first: `iprisk train --data DIR`)"
                )
    except MlflowException as e:
        if e.error_code == NOT_FOUND:
            raise RegistryError(
                f"registry {mlflow.get_registry_uri()}: model '{name}' has no version '{version_or_alias}' "
                f"(train and promote one first: `iprisk train --data DIR`)"
            ) from e
        raise _failed(f"get_model_version({name!r}, {version_or_alias!r})", e) from e
    try:
        loaded = mlflow.pyfunc.load_model(model_uri(name, version))
    except (MlflowException, OSError, ImportError, ValueError, TypeError, AttributeError, EOFError) as e:
        # artefact missing or unreadable, or pickled with code that no longer loads
        raise RegistryError(f"model '{name}' v{version} cannot be loaded: {_first_line(e)}") from e
    return loaded.unwrap_python_model(), version


def version_info(name: str, version: str) -> dict[str, Any]:
    """Tags and run metrics of a version (for `GET /v1/models` and `iprisk evaluate`)."""
    client = _client()
    try:
        mv = client.get_model_version(name, version)
        metrics = dict(client.get_run(mv.run_id).data.metrics) if mv.run_id else {}
    except (MlflowException, OSError) as e:
        raise _failed(f"get_model_version({name!r}, {version!r})", e) from e
    return {"name": name, "version": str(version), "run_id": mv.run_id, "tags": dict(mv.tags or {}), "metrics": metrics}


def pd_model_uri(version: str | None = None) -> str:
    """URI of the PD model for `mlflow models serve` (champion unless a version is given)."""
    return model_uri(BOOK_MODELS["pd"], version or CHAMPION)


def load_bundle(tracking_uri: str | None = None, versions: Mapping[str, str] | None = None) -> ScoringBundle:
    """The serving bundle: the loan-book champions (or pinned versions: model name → version).

    `iprisk-pd` holds the PD role, whichever family won the gate (its wrapper's `family`, also the
    version tag `pd.family`): decisions use it, with TreeSHAP or scorecard-points reasons.

    Raises `RegistryError` naming the registry and the model when one is missing, and `ModelError`
    when a model does not fit the current contracts (feature columns the builder no longer makes).
    """
    tracking.connect(tracking_uri, create_experiment=False)
    pinned = dict(versions or {})
    loaded: dict[str, tuple[Any, str]] = {}
    for kind, name in BOOK_MODELS.items():
        ref = pinned.get(name, CHAMPION)
        if kind in OPTIONAL_BOOK_MODELS and name not in pinned:
            ref = alias_version(name, CHAMPION)  # looked up once: its version, or None for no champion
            if ref is None:
                continue  # the scorecard's second opinion: absent until a scorecard passes the gate's checks
        loaded[kind] = load_wrapper(name, ref)
    pd_w = loaded["pd"][0]
    family = getattr(pd_w, "family", "lightgbm")  # versions from before the PD role was a role are LightGBM
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
        info = version_info(name, v)
        metrics[name] = {k: val for k, val in info["metrics"].items() if k.split(".")[-1] in HEADLINE_METRICS}
    return ScoringBundle(
        feature_builder=pd_w.feature_builder,
        pd_model=pd_w.pd_model,
        recovery_model=loaded["recovery"][0].recovery_model,
        scorecard=loaded["scorecard"][0].scorecard if "scorecard" in loaded else None,
        pd_family=family,
        policy=load_policy(),
        versions=versions_out,
        metrics=metrics,
    )
