"""`iprisk run` (what `make run` does) end to end, without the final serve: demo book, validation,
features summary, training into a private registry, development keys, the URLs printed; a second
run reuses the book and the champions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

IPRISK = str(Path(sys.executable).with_name("iprisk"))
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_run_builds_validates_trains_and_prints_where_things_are(tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}", "IPRISK_HOME": str(tmp_path), "COLUMNS": "200"}
    args = [IPRISK, "run", "--firms", "1500", "--seed", "3", "--out", str(tmp_path / "demo"), "--no-serve"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    for text in ("default rate", "pledged patents' appraised value", "validation report", "iprisk-pd v1: promoted",
                 "web page:  http://127.0.0.1:3000/ui", "MLflow UI: http://127.0.0.1:5000"):
        assert text in out, text
    keys = json.loads((tmp_path / ".iprisk" / "dev-keys.json").read_text())
    assert set(keys) == {"credit_officer", "fund_manager", "data_scientist"}
    stored = (tmp_path / ".iprisk" / "api_keys.json").read_text()
    assert all(k not in stored for k in keys.values())  # only hashes are stored

    again = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "is current" in again.stdout and "champions already in the registry" in again.stdout
