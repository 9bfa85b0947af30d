"""Shared fixtures for the contract tests: a small hand-written loan book (see contract_book.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from contract_book import make_book  # noqa: E402


@pytest.fixture(scope="session")
def clean_book():
    """Six firms, twelve patents, six loans: every contract rule holds. Copy before mutating."""
    return make_book(6, seed=1)


@pytest.fixture()
def book(clean_book):
    """A fresh, mutable copy of the clean book."""
    return {k: v.copy() for k, v in clean_book.items()}


@pytest.fixture(scope="session")
def gx_runner():
    """One in-memory GX context for the session (GX import + context cost seconds)."""
    from data_contracts.gx_suite import GxRunner

    return GxRunner()
