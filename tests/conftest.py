"""Shared fixtures: a small demo book and a registry trained on it (once per test worker).

Tests that use the trained registry carry `@pytest.mark.xdist_group("registry")` so that, under
`pytest -n 2 --dist loadgroup`, they share one worker and the training runs once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
POLISH = REPO.parent / "shared" / "data" / "polish_bankruptcy" / "1year.arff"
SMALL_BOOK_FIRMS = 2500
SMALL_BOOK_SEED = 11


@pytest.fixture(scope="session")
def small_book(tmp_path_factory) -> Path:
    """A demo book of 2,500 firms (≈3,100 loans, 7 origination years) written as Parquet."""
    from pipelines.demo_book import generate_book, write_book

    out = tmp_path_factory.mktemp("book") / "demo"
    write_book(generate_book(SMALL_BOOK_FIRMS, SMALL_BOOK_SEED), out, seed=SMALL_BOOK_SEED, n_firms=SMALL_BOOK_FIRMS)
    return out


@pytest.fixture(scope="session")
def registry_env(tmp_path_factory):
    """A private MLflow registry (SQLite) and local-state folder for this test worker."""
    home = tmp_path_factory.mktemp("iprisk-home")
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "IPRISK_HOME")}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlruns.db'}"
    os.environ["IPRISK_HOME"] = str(home)
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def trained(small_book, registry_env, tmp_path_factory) -> dict:
    """`train_book` on the small book: champions registered in the worker's private registry."""
    from pipelines.train_job import train_book

    result = train_book(small_book, out_dir=tmp_path_factory.mktemp("train"))
    return {"book": small_book, "home": registry_env, "uri": os.environ["MLFLOW_TRACKING_URI"], "result": result}
