"""A test double of `models.scoring.ScoringBundle` for the service's unit tests (the e2e tests use
the real bundle trained into a temporary registry). Same methods, simple transparent arithmetic:
PD rises with leverage and overdue events, so directional checks mean something."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


class FakeBundle:
    def __init__(self, versions: dict[str, str] | None = None):
        self.versions = dict(versions or {"iprisk-pd": "1", "iprisk-recovery": "1"})
        self.metrics = {"iprisk-pd": {"auc": 0.8, "gini": 0.6}}
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.pd_model = type("PDModel", (), {"feature_names_": ["leverage", "overdue", "amount"]})()

    def features(self, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        loans, firms = tables["loans"], tables["firms"].set_index("firm_id")
        f = firms.loc[loans["firm_id"]]
        return pd.DataFrame({
            "leverage": f["liabilities_to_assets"].to_numpy(float),
            "overdue": f["overdue_events_12m"].to_numpy(float),
            "amount": loans["amount"].to_numpy(float),
        }, index=loans["loan_id"].to_numpy())

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        z = -4 + 3 * X["leverage"].to_numpy(float) + 0.5 * X["overdue"].to_numpy(float)
        return 1 / (1 + np.exp(-z))

    def score(self, tables: dict[str, pd.DataFrame]) -> list[dict]:
        self.calls += 1
        self.batch_sizes.append(len(tables["loans"]))
        X = self.features(tables)
        pd_ = self.predict_pd(X)
        out = []
        pledged = tables["pledges"].merge(tables["patents"], on="patent_id")
        for (lid, row), p in zip(X.iterrows(), pd_):
            pats = pledged[pledged["loan_id"] == lid]
            value = float(pats["appraised_value"].sum())
            lgd = float(np.clip(1 - 0.3 * value / max(row["amount"], 1), 0.1, 1))
            out.append({
                "loan_id": lid, "currency": "CNY", "probability_of_default": float(p), "grade": "B" if p < 0.1 else "D",
                "loss_given_default": lgd, "exposure_at_default": row["amount"],
                "expected_loss": float(p * lgd * row["amount"]), "max_loan_amount": 0.25 * value,
                "recommendation": "approve" if p < 0.1 else "decline", "reasons": [
                    {"feature": "leverage", "contribution": float(3 * row["leverage"]), "direction": "riskier"}],
                "collateral": [{"patent_id": r.patent_id, "value_score": 0.5, "appraised_value": float(r.appraised_value)}
                               for r in pats.itertuples()],
            })
        return out

    def value_collateral(self, patents: pd.DataFrame, as_of) -> dict:
        v = patents["appraised_value"].to_numpy(float)
        return {"as_of": pd.Timestamp(as_of).date().isoformat(), "patents": [
            {"patent_id": p, "value_score": 0.5, "expected_liquidation_value": 0.3 * x}
            for p, x in zip(patents["patent_id"], v)], "expected_liquidation_value": float(0.3 * v.sum()), "ltv_cap": 0.25}

EXAMPLE = Path(__file__).parents[2] / "serving" / "static" / "example_application.json"


@pytest.fixture
def example_app() -> dict:
    return json.loads(EXAMPLE.read_text())


_SERVICE: dict = {}
"""One service per test process: BentoML registers its Prometheus metrics when the ASGI app is
built, and a process's registry takes each metric once. Each test still gets a fresh service
instance (a TestClient context runs the lifespan, which opens a new runtime) with its own fake
bundle; keys and audit rows of different tests share one folder and never collide (random keys,
request ids)."""


def _service(tmp_root: Path) -> dict:
    if not _SERVICE:
        from pipelines.serving_config import ServingConfig
        from serving.service import build_service

        cfg = ServingConfig(keys_file=str(tmp_root / "keys.json"), audit_url=f"sqlite:///{tmp_root / 'audit.db'}",
                            bench_endpoints=True)
        holder: dict = {}
        app = build_service(cfg, bundle_loader=lambda _cfg: holder["bundle"]).to_asgi()
        _SERVICE.update(config=cfg, app=app, holder=holder)
    return _SERVICE


@pytest.fixture
def service_env(tmp_path_factory):
    """The service's configuration (frozen, under a per-process temporary folder), one new key per
    role, and a fresh fake bundle that the next service start loads."""
    from pipelines.key_store import ROLES, create_key

    svc = _service(tmp_path_factory.getbasetemp() / "service")
    cfg = svc["config"]
    bundle = FakeBundle()
    svc["holder"]["bundle"] = bundle
    keys = {r: create_key(cfg.keys_path, r) for r in ROLES}
    return {"keys": keys, "bundle": bundle, "audit_url": cfg.audit_url, "config": cfg}


@pytest.fixture
def asgi_app(service_env):
    """The service's ASGI app, built by the factory from the frozen test config."""
    return _SERVICE["app"]


@pytest.fixture
def client(service_env, asgi_app):
    from starlette.testclient import TestClient

    with TestClient(asgi_app) as c:
        c.env = service_env
        yield c
