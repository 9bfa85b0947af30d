"""Shared fixtures: a small typed book from the hand-made maker (tests/features/book.py), a fitted
builder, and the demo book from `pipelines.demo_book` once it exists."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# The repository root first: with tests/conftest.py (no __init__.py) pytest prepends tests/, whose
# data_contracts/, features/ ... folders would otherwise shadow the packages as namespace packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).parent))
from feature_book import make_tables  # noqa: E402

from features import FeatureBuilder  # noqa: E402


@pytest.fixture(scope="session")
def book():
    """About 300 loans / 900 pledged patents, typed like validated inputs."""
    return make_tables(300, seed=3)


@pytest.fixture(scope="session")
def builder(book):
    return FeatureBuilder().fit(book)


@pytest.fixture(scope="session")
def frame(builder, book):
    return builder.transform(book)


@pytest.fixture(scope="session")
def demo_book():
    """`generate_book(2000, seed=1)` from the demo-book engineer's module (skipped until it lands)."""
    if importlib.util.find_spec("pipelines.demo_book") is None:
        pytest.skip("pipelines.demo_book not available yet")
    from pipelines.demo_book import generate_book

    return generate_book(2000, seed=1)
