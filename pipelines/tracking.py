"""Where MLflow lives: tracking URI, experiment and artifact location.

Default: a project-local SQLite database (`sqlite:///<home>/mlruns.db`, artifacts in
`<home>/mlartifacts`), because MLflow 3 refuses the plain file store. `MLFLOW_TRACKING_URI` points
everything at a team server instead (see docs/mlflow.md for `mlflow server` on PostgreSQL).
`<home>` is `IPRISK_HOME` or the current directory.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from data_contracts.errors import RegistryError
from pipelines.settings import home

__all__ = ["EXPERIMENT", "artifact_root", "connect", "home", "quiet_mlflow", "tracking_uri"]

EXPERIMENT = os.environ.get("IPRISK_EXPERIMENT", "iprisk")


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else the project-local SQLite database."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlruns.db'}"


def artifact_root() -> str:
    return (home() / "mlartifacts").as_uri()


def quiet_mlflow() -> None:
    """MLflow logs chatty INFO lines and warnings on every call; keep the terminal for our output."""
    for name in ("mlflow", "alembic", "urllib3", "git"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def connect(uri: str | None = None, *, create_experiment: bool = True) -> str:
    """Point MLflow at `uri` (default `tracking_uri()`), check it answers, and return the experiment id.

    Raises `RegistryError` naming the URI when the store cannot be reached.
    """
    quiet_mlflow()
    uri = uri or tracking_uri()
    try:
        if uri.startswith("sqlite:///"):
            Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        exp = mlflow.get_experiment_by_name(EXPERIMENT)
        if exp is None:
            if not create_experiment:
                raise RegistryError(f"registry {uri}: experiment '{EXPERIMENT}' does not exist (train a model first: `iprisk train --data DIR`)")
            location = artifact_root() if uri.startswith("sqlite:") else None
            return mlflow.create_experiment(EXPERIMENT, artifact_location=location)
        return exp.experiment_id
    except RegistryError:
        raise
    except (MlflowException, OSError, ValueError) as e:  # unreachable server, bad URI, broken database
        raise RegistryError(f"cannot reach the MLflow registry at {uri}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from e
