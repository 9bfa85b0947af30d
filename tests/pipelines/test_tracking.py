"""MLflow tracking: `connect` points MLflow at a store, creates the project's experiment, and turns a
store it cannot reach into a `RegistryError` naming the URI."""

from __future__ import annotations

import mlflow
import pytest

from data_contracts.errors import RegistryError
from pipelines import tracking


@pytest.fixture(autouse=True)
def _fail_fast(monkeypatch):
    """An unreachable server answers at once instead of after MLflow's retries (tests/conftest.py puts
    the process-wide URIs that connect() sets back after each test)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


def test_connect_creates_the_experiment_once(tmp_path, monkeypatch):
    monkeypatch.setenv("IPRISK_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking.tracking_uri()
    assert uri == f"sqlite:///{tmp_path / 'mlruns.db'}"
    exp_id = tracking.connect()
    assert mlflow.get_tracking_uri() == uri
    exp = mlflow.get_experiment(exp_id)
    assert exp.name == tracking.EXPERIMENT and exp.artifact_location == (tmp_path / "mlartifacts").as_uri()
    assert tracking.connect() == exp_id  # found, not created again
    assert (tmp_path / "mlruns.db").is_file()


def test_without_create_a_missing_experiment_is_a_registry_error(tmp_path):
    uri = f"sqlite:///{tmp_path / 'sub' / 'empty.db'}"
    with pytest.raises(RegistryError, match="does not exist") as e:
        tracking.connect(uri, create_experiment=False)
    assert uri in str(e.value)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:{port}", "sqlite:////proc/no-such-dir/mlruns.db", "nosuchscheme://x"])
def test_an_unreachable_store_is_a_registry_error_naming_it(uri):
    if "{port}" in uri:
        import socket

        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            uri = uri.format(port=s.getsockname()[1])
    with pytest.raises(RegistryError) as e:
        tracking.connect(uri)
    assert uri in str(e.value)
