"""One MLflow run per training job: tags (provenance), params, metrics, the validation report,
the data-validation summary and the models (pyfunc wrappers with signature and input example)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from pipelines.training.provenance import code_version, pip_requirements


@dataclass(frozen=True)
class LoggedRun:
    """What a run logged: its id and, per model kind, the logged model's URI."""

    run_id: str
    model_uris: dict[str, str]


def log_training_run(experiment_id: str, run_name: str, *, tags: Mapping[str, str], params: Mapping[str, Any],
                     metrics: Mapping[str, float], report_dir: Path, validation_json: Path | None,
                     models: Mapping[str, Any], example: pd.DataFrame) -> LoggedRun:
    """Log one training run and its models (kind → pyfunc wrapper); `code.version` is added to the tags.

    `example` (a few feature rows, float64) is each model's input example and signature source."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{run_name}-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.set_tags({**tags, "code.version": code_version()})
        mlflow.log_params(dict(params))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)})
        mlflow.log_artifacts(str(report_dir), "validation_report")
        if validation_json:
            mlflow.log_artifact(str(validation_json), "data_validation")
        reqs = pip_requirements()
        uris = {}
        for kind, wrapper in models.items():
            info = mlflow.pyfunc.log_model(
                name=f"{kind}_model", python_model=wrapper, signature=infer_signature(example, wrapper.predict(None, example)),
                input_example=example, pip_requirements=reqs,
            )
            uris[kind] = info.model_uri
        return LoggedRun(run.info.run_id, uris)
