"""The reference profile of a PD model: what its test rows looked like, to compare live decisions with.

Built at training time from the out-of-time test rows and logged as the MLflow artefact
`reference_profile/reference_profile.json` of the training run: the binned distribution (bin edges
and shares) of the PD and of each of the PD model's features, the grade distribution, the
recommendation mix, and the validation figures the back-test compares with (AUC, mean PD).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.errors import InputError, RegistryError
from models.scoring import ScoringBundle
from pipelines.monitoring.stability import bin_counts, quantile_edges, share_map
from pipelines.policy import load_policy

ARTIFACT_DIR = "reference_profile"
ARTIFACT_FILE = "reference_profile.json"
SCHEMA = 1


@dataclass(frozen=True)
class Binned:
    """One distribution: inner edges and the share of each of `len(edges) + 2` buckets (last: missing)."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, x: Any, bins: int) -> Binned:
        edges = quantile_edges(x, bins)
        counts = bin_counts(x, edges)
        return cls(tuple(map(float, edges)), tuple(map(float, counts / max(counts.sum(), 1))))

    def as_dict(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "shares": list(self.shares)}


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of one PD model version (see module docstring). `rows`: test rows profiled."""

    rows: int
    score: Binned
    features: dict[str, Binned]
    grades: dict[str, float]
    recommendations: dict[str, float]
    validation: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "rows": self.rows, "score": self.score.as_dict(),
                "features": {k: v.as_dict() for k, v in self.features.items()},
                "grades": self.grades, "recommendations": self.recommendations, "validation": self.validation}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReferenceProfile:
        def b(x: dict) -> Binned:
            return Binned(tuple(x["edges"]), tuple(x["shares"]))

        return cls(int(d["rows"]), b(d["score"]), {k: b(v) for k, v in d["features"].items()},
                   dict(d["grades"]), dict(d.get("recommendations") or {}), dict(d.get("validation") or {}))


def build_reference(X: pd.DataFrame, pd_: np.ndarray, grades: Any, recommendations: Any, bins: int,
                    validation: dict[str, float] | None = None) -> ReferenceProfile:
    """Profile test rows: features `X` (n, k), PDs `pd_` (n,), grade and recommendation labels (n,)."""
    if len(X) != len(pd_) or len(X) == 0:
        raise InputError(f"reference profile: {len(X)} feature rows and {len(pd_)} PDs (need the same, > 0)")
    return ReferenceProfile(
        rows=len(X), score=Binned.of(pd_, bins),
        features={c: Binned.of(X[c].to_numpy(float), bins) for c in X.columns},
        grades=share_map(Counter(map(str, grades))), recommendations=share_map(Counter(map(str, recommendations))),
        validation={k: float(v) for k, v in (validation or {}).items() if v is not None and np.isfinite(v)},
    )


def book_reference(b: Any, m: Any, metrics: dict[str, float], bins: int) -> ReferenceProfile:
    """The reference of a loan-book training job (`pipelines.training.book`): its test rows scored by
    the fitted models with the bank's policy (grades, recommendations) as the service would."""
    bundle = ScoringBundle(feature_builder=b.builder, pd_model=m.pd_model, recovery_model=m.recovery, policy=load_policy())
    t = b.tables
    loans = t["loans"][t["loans"]["loan_id"].isin(b.loans.loc[b.test, "loan_id"])]
    pledges = t["pledges"][t["pledges"]["loan_id"].isin(loans["loan_id"])]
    tables = {"loans": loans, "pledges": pledges, "patents": t["patents"][t["patents"]["patent_id"].isin(pledges["patent_id"])],
              "firms": t["firms"][t["firms"]["firm_id"].isin(loans["firm_id"])]}
    frame = bundle.evaluate(tables, reasons=False).frame
    X = b.X[b.test][list(m.pd_model.feature_names_)]
    frame = frame.set_index("loan_id").reindex(X.index)
    return build_reference(X, frame["probability_of_default"].to_numpy(float), frame["grade"], frame["recommendation"], bins,
                           {"auc": metrics.get("pd.auc"), "mean_pd": metrics.get("pd.mean_pd"),
                            "default_rate": metrics.get("pd.default_rate")})


def log_reference_profile(run_id: str, profile: ReferenceProfile) -> None:
    """Attach the profile to training run `run_id` as `reference_profile/reference_profile.json`."""
    from mlflow import MlflowClient  # here, not at the top: monitor's chunk workers import this module (via live.py) and MLflow adds ~3 s to each

    MlflowClient().log_dict(run_id, profile.as_dict(), f"{ARTIFACT_DIR}/{ARTIFACT_FILE}")


def load_reference_profile(model: str, version: str) -> ReferenceProfile:
    """The reference profile of registered `model` `version` (from its training run's artefacts).

    Raises `RegistryError` when the version has no profile (trained before monitoring existed)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        run_id = client.get_model_version(model, str(version)).run_id
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run_id, f"{ARTIFACT_DIR}/{ARTIFACT_FILE}", tmp)
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (MlflowException, OSError, ValueError) as e:
        raise RegistryError(
            f"model '{model}' v{version} has no reference profile ({ARTIFACT_DIR}/{ARTIFACT_FILE} in its training run): "
            "it was trained before monitoring existed; retrain it (`iprisk train --data DIR`) or monitor another "
            f"version (--model-version) [{type(e).__name__}: {str(e).splitlines()[0][:160]}]"
        ) from e
    return ReferenceProfile.from_dict(doc)
