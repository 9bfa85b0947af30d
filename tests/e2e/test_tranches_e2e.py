"""A fund manager runs the installed `iprisk tranches` on a pool file, as in docs/tranches.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
IPRISK = Path(sys.executable).parent / "iprisk"


@pytest.fixture(scope="module")
def pool_csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(21)
    n = 150
    p = tmp_path_factory.mktemp("e2e") / "pool.csv"
    pd.DataFrame({
        "loan_id": [f"L{i:06d}" for i in range(n)],
        "exposure_at_default": rng.lognormal(15, 0.6, n).round(0),
        "probability_of_default": rng.uniform(0.01, 0.06, n).round(4),
        "loss_given_default": rng.uniform(0.45, 0.75, n).round(3),
        "sector": rng.choice(["biotech", "software", "semiconductors"], n),
    }).to_csv(p, index=False)  # optional columns lgd_volatility and region left out
    return p


def iprisk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(IPRISK), *args], capture_output=True, text=True, timeout=300)


def test_monte_carlo_json_and_plot(pool_csv, tmp_path):
    plot = tmp_path / "loss.png"
    r = iprisk("tranches", "--pool", str(pool_csv), "--correlation", "0.2", "--method", "mc", "--paths", "20000",
               "--seed", "5", "--tranches", "0,0.03,0.07,1", "--json", "--plot", str(plot))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["method"] == "mc" and d["expected_loss"] > 0 and d["expected_loss_se"] > 0
    for t in d["tranches"]:
        assert {"attachment", "detachment", "expected_loss", "probability_of_loss",
                "expected_loss_se", "probability_of_loss_se"} <= set(t)
    assert [t["attachment"] for t in d["tranches"]] == [0.07, 0.03, 0.0]
    pols = [t["probability_of_loss"] for t in d["tranches"]]
    assert pols == sorted(pols)
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_default_targets_exact_engine_table(pool_csv):
    r = iprisk("tranches", "--pool", str(pool_csv), "--method", "exact")
    assert r.returncode == 0, r.stderr
    for word in ("senior", "mezzanine", "first_loss", "met"):
        assert word in r.stdout


def test_bad_pool_exits_with_contract_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("loan_id,exposure_at_default,probability_of_default,loss_given_default\nL1,100,1.4,0.5\n")
    out = tmp_path / "x.png"
    r = iprisk("tranches", "--pool", str(bad), "--tranches", "0,0.1,1", "--plot", str(out))
    assert r.returncode != 0 and "probability_of_default" in r.stderr and not out.exists()
