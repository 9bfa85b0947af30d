"""The loan-book training job against a private registry: logging, registration, gate, no orphans."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from data_contracts.errors import ContractViolation, ModelError

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("registry")]


def _versions(name: str) -> list[str]:
    from mlflow import MlflowClient

    return sorted(str(v.version) for v in MlflowClient().search_model_versions(f"name='{name}'"))


def test_first_training_registers_champions_with_recorded_verdicts(trained):
    from mlflow import MlflowClient

    from pipelines import registry

    res = trained["result"]
    assert set(res["registered_versions"]) == set(registry.BOOK_MODELS.values())
    for name, version in res["registered_versions"].items():
        mv = MlflowClient().get_model_version(name, version)
        assert mv.tags["gate.decision"] in ("promoted", "rejected")
        assert mv.tags["gate.reason"]
    assert registry.alias_version("iprisk-pd") == res["registered_versions"]["iprisk-pd"]
    m = res["metrics"]
    assert 0.5 < m["pd.auc"] <= 1 and 0.5 < m["scorecard.auc"] <= 1
    assert 0 < m["oracle.auc"] <= 1 and m["pd.auc_to_oracle"] > 0.8
    assert 0 <= m["recovery.mean_expected_lgd"] <= 1


def test_run_logs_provenance_report_and_models(trained):
    import mlflow

    run = mlflow.get_run(trained["result"]["run_id"])
    tags = run.data.tags
    assert len(tags["data.fingerprint"]) == 64 and tags["code.version"]
    assert tags["contract.patents"] and tags["contract.loans"]
    assert "pd.auc" in run.data.metrics and "pd.jeffreys_pass_share" in run.data.metrics
    arts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "validation_report")}
    assert "validation_report/validation_report.html" in arts and "validation_report/validation_report.json" in arts


def test_registered_pd_model_returns_probabilities(trained):
    import mlflow

    from pipelines.registry import pd_model_uri

    model = mlflow.pyfunc.load_model(pd_model_uri())
    wrapper = model.unwrap_python_model()
    from pipelines.readers import read_book

    X = wrapper.feature_builder.transform(read_book(trained["book"])).head(50)
    out = model.predict(X)
    p = out["probability_of_default"].to_numpy()
    assert p.shape == (50,) and np.all((p > 0) & (p < 1))
    assert len(np.unique(p)) > 10  # probabilities, not 0/1 labels


def test_second_run_on_changed_book_records_a_gate_decision(trained, tmp_path):
    from mlflow import MlflowClient

    from pipelines import registry
    from pipelines.demo_book import generate_book, write_book
    from pipelines.training import train_book

    book2 = tmp_path / "book2"
    write_book(generate_book(2500, 12), book2, seed=12, n_firms=2500)
    res = train_book(book2, out_dir=tmp_path / "out")
    v2 = res["registered_versions"]["iprisk-pd"]
    assert v2 != trained["result"]["registered_versions"]["iprisk-pd"]
    d = next(g for g in res["gate"] if g["model"] == "iprisk-pd")
    assert d["champion_version"] is not None and d["champion_metric"] is not None  # compared on the same rows
    tags = MlflowClient().get_model_version("iprisk-pd", v2).tags
    assert tags["gate.decision"] == d["decision"]
    if d["decision"] == "rejected":
        assert registry.alias_version("iprisk-pd", registry.CHALLENGER) == v2
    else:
        assert registry.alias_version("iprisk-pd") == v2


def test_failing_contract_stops_training_without_registering(trained, tmp_path):
    before = _versions("iprisk-pd")
    bad = tmp_path / "bad"
    shutil.copytree(trained["book"], bad)
    p = pd.read_parquet(bad / "patents.parquet")
    p.loc[0, "expiry_date"] = p.loc[0, "filing_date"] - pd.Timedelta(days=30)
    p.to_parquet(bad / "patents.parquet", index=False)
    from pipelines.training import train_book

    with pytest.raises(ContractViolation, match="patents"):
        train_book(bad, out_dir=tmp_path / "out")
    assert _versions("iprisk-pd") == before


def test_one_class_target_is_a_clear_error_and_no_orphan(trained, tmp_path):
    before = {n: _versions(n) for n in ("iprisk-pd", "iprisk-scorecard", "iprisk-recovery")}
    book = tmp_path / "noclass"
    shutil.copytree(trained["book"], book)
    o = pd.read_parquet(book / "outcomes.parquet")
    o["defaulted"] = False
    for c in ("default_date", "patents_sold", "sale_price", "recovery_date", "recovered_amount", "realised_lgd"):
        o[c] = None
    o.to_parquet(book / "outcomes.parquet", index=False)
    from pipelines.training import train_book

    with pytest.raises(ModelError, match="one class"):
        train_book(book, out_dir=tmp_path / "out")
    assert {n: _versions(n) for n in before} == before


def test_unreachable_registry_is_a_clear_error(tmp_path, monkeypatch, small_book):
    import mlflow

    from data_contracts.errors import RegistryError
    from pipelines.training import train_book

    good = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9/")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    try:
        with pytest.raises(RegistryError, match="127.0.0.1:9"):
            train_book(small_book, out_dir=tmp_path / "out")
    finally:
        mlflow.set_tracking_uri(good)
        mlflow.set_registry_uri(good)
