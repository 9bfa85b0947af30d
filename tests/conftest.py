"""Shared fixtures: a small demo book and a registry trained on it.

The training runs once per test session even under `pytest -n 2`: the first worker to need it
trains into a cache folder shared by the workers (guarded by a file lock); every worker then
works on its own copy of the registry database (artifacts are shared, read-only for the models
trained here), so tests that register, promote or retrain never disturb another worker's tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
POLISH = REPO.parent / "shared" / "data" / "polish_bankruptcy" / "1year.arff"
SMALL_BOOK_FIRMS = 2500
SMALL_BOOK_SEED = 11


def _shared_root(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (the parent of the per-worker base temp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def _env(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pytest_collection_modifyitems(items):
    """Under `pytest -n 2 --dist loadgroup`, a module without an `xdist_group` is its own group, so its
    module-scoped fixtures (a CLI run, a fitted model, a cluster) are built once, not once per worker."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(autouse=True)
def _restore_mlflow_uris(request):
    """MLflow's tracking and registry URIs are process-wide: a test that points them at its own store
    (a CLI run's private registry, an unreachable server) must not leave the worker's later tests on it,
    and a test that uses the trained registry starts on it whatever a module fixture set before."""
    import mlflow

    if "trained" in request.fixturenames:
        uri = request.getfixturevalue("trained")["uri"]
        os.environ["MLFLOW_TRACKING_URI"] = uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri(), os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before[2] is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before[2]
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


@pytest.fixture(scope="session")
def small_book(tmp_path_factory) -> Path:
    """A demo book of 2,500 firms (≈3,100 loans, 7 origination years) as Parquet; shared, read-only:
    copy it before changing a file."""
    root = _shared_root(tmp_path_factory)
    out = root / "shared-book" / "demo"
    with _locked(root / "shared-book.lock"):
        if not (out / "manifest.json").exists():
            from pipelines.demo_book import generate_book, write_book

            write_book(generate_book(SMALL_BOOK_FIRMS, SMALL_BOOK_SEED), out, seed=SMALL_BOOK_SEED, n_firms=SMALL_BOOK_FIRMS)
    return out


@pytest.fixture(scope="session")
def registry_env(tmp_path_factory):
    """A private MLflow registry (SQLite) and local-state folder for this test worker."""
    home = tmp_path_factory.mktemp("iprisk-home")
    with _env(MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlruns.db'}", IPRISK_HOME=str(home)):
        yield home


@pytest.fixture(scope="session")
def trained(small_book, registry_env, tmp_path_factory) -> dict:
    """Champions trained on the small book (`train_book`), in this worker's private registry copy."""
    import mlflow

    root = _shared_root(tmp_path_factory)
    cache = root / "trained-cache"
    with _locked(root / "trained-cache.lock"):
        if not (cache / "result.json").exists():
            from pipelines.training import train_book

            cache.mkdir(parents=True, exist_ok=True)
            with _env(MLFLOW_TRACKING_URI=f"sqlite:///{cache / 'mlruns.db'}", IPRISK_HOME=str(cache)):
                result = train_book(small_book, out_dir=cache / "train")
            from pipelines.report import to_json

            (cache / "result.json").write_text(to_json(result))
    # a file of its own that no MLflow engine of this worker has opened yet (overwriting a database that a
    # test already opened through its cached engine left the worker reading the old, empty registry)
    db = registry_env / "trained-mlruns.db"
    shutil.copy2(cache / "mlruns.db", db)
    uri = f"sqlite:///{db}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return {"book": small_book, "home": registry_env, "uri": uri, "result": json.loads((cache / "result.json").read_text())}


@pytest.fixture(scope="module")
def bundle(trained):
    """The scoring bundle of the session's trained champions (`load_bundle`), loaded once per module.

    Named by the trained registry's URI: a module fixture is set up before `_restore_mlflow_uris`, so
    a store another module's fixture pointed MLflow at may still be current."""
    from pipelines.registry import load_bundle

    return load_bundle(tracking_uri=trained["uri"])
