"""Whole flows of the foundation as a user runs them: the installed `iprisk` command in a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
POLISH = REPO.parent / "shared" / "data" / "polish_bankruptcy" / "1year.arff"
IPRISK = str(Path(sys.executable).with_name("iprisk"))

pytestmark = pytest.mark.e2e


def iprisk(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([IPRISK, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env={**os.environ, **(env or {})})


def test_help_lists_every_command():
    r = iprisk("--help")
    assert r.returncode == 0
    for cmd in ("demo-data", "validate", "train", "evaluate", "promote", "score", "tranches", "serve", "run"):
        assert cmd in r.stdout
    for cmd in ("demo-data", "validate", "train", "score", "tranches"):
        assert iprisk(cmd, "--help").returncode == 0


def test_demo_data_then_validate_then_broken_date_order(tmp_path):
    book = tmp_path / "book"
    r = iprisk("demo-data", "--firms", "600", "--seed", "7", "--out", str(book))
    assert r.returncode == 0, r.stderr
    tables = ("firms", "patents", "loans", "pledges", "outcomes", "ground_truth")
    assert {p.name for p in book.glob("*.parquet")} >= {f"{t}.parquet" for t in tables}
    r = iprisk("validate", str(book))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (book / "validation" / "summary.json").exists()

    patents = pd.read_parquet(book / "patents.parquet")
    patents.loc[3, "expiry_date"] = patents.loc[3, "filing_date"] - pd.Timedelta(days=1)
    patents.to_parquet(book / "patents.parquet", index=False)
    r = iprisk("validate", str(book))
    assert r.returncode != 0
    err = r.stderr
    assert "patents" in err and "expiry_date" in err and "date_order" in err
    assert patents.loc[3, "patent_id"] in err  # names the offending row


def test_missing_path_is_one_clear_line(tmp_path):
    r = iprisk("validate", str(tmp_path / "nope"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "nope" in r.stderr


@pytest.mark.skipif(not POLISH.exists(), reason="shared Polish data set not present")
def test_validate_real_polish_file_with_its_contract():
    r = iprisk("validate", str(POLISH), "--contract", str(REPO / "data_contracts" / "polish_bankruptcy.yaml"), "--json",
               "--report-dir", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"polish-val-{os.getpid()}"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["success"] is True


def test_score_refuses_a_bad_applications_file_naming_the_field(tmp_path):
    app = json.loads((REPO / "serving" / "static" / "example_application.json").read_text())
    app["patents"][1]["claims_count"] = -3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"applications": [app]}))
    r = iprisk("score", "--input", str(bad), "--out", str(tmp_path / "scores.csv"), cwd=tmp_path,
               env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'none.db'}", "IPRISK_HOME": str(tmp_path), "COLUMNS": "300"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "applications[0].patents[1].claims_count: rule 'min', value -3" in r.stderr, r.stderr
    assert not (tmp_path / "scores.csv").exists()
