"""Patents on real records, as a user runs them: `iprisk patents ingest` on the real CNIPA and USPTO
files (and a malicious one), `iprisk patents train-survival` on the real CNIPA sample with
cross-validation, a test file, MLflow registration and the promotion gate, in a private registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
CNIPA = SHARED / "cnipa_patent_lapse" / "cn_invention_patents_1999_2002.csv"
USPTO = SHARED / "uspto_assignments" / "ad20160101.zip"
CONTRACT = REPO / "data_contracts" / "cnipa_patents.yaml"

sys.path.insert(0, str(REPO / "tests" / "pipelines"))
from register_files import billion_laughs, zipped

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (CNIPA.is_file() and USPTO.is_file()), reason="shared register data not present")]


def iprisk(*args: str, home: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """The command from this checkout (python -m cli.main in the repository), with a private registry."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlruns.db'}", "IPRISK_HOME": str(home),
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=env)


def test_ingest_the_real_uspto_file(tmp_path):
    out = tmp_path / "uspto"
    r = iprisk("patents", "ingest", str(USPTO), "--format", "uspto-assignments", "--out", str(out), "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["transactions"], doc["documents"], doc["events"]) == (199, 578, 578)
    conv = {k.split(" (")[0]: v for k, v in doc["transactions_by_conveyance"].items()}
    assert conv == {"ASSIGNMENT OF ASSIGNORS INTEREST": 140, "MERGER": 35, "SECURITY INTEREST": 13,
                    "RELEASE BY SECURED PARTY": 7, "NUNC PRO TUNC ASSIGNMENT": 2, "CHANGE OF NAME": 1, "LICENSE": 1}
    assert doc["transactions_by_event_type"] == {"licence_granted": 1, "name_changed": 1, "ownership_transferred": 177,
                                                 "pledge_registered": 13, "pledge_released": 7}
    assert sum(doc["event_counts"].values()) == 578 and doc["rows_rejected"] == 0
    ev = pd.read_parquet(out / "patent_events.parquet")
    assert len(ev) == 578 and ev["source_record_id"].nunique() == 199
    # the written table passes its contract in the GX enforcer too (found by the file's stem)
    v = iprisk("validate", str(out / "patent_events.parquet"), "--report-dir", str(tmp_path / "v"), "--json", home=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr


def test_ingest_the_real_cnipa_file_with_rejects(tmp_path):
    out = tmp_path / "cnipa"
    r = iprisk("patents", "ingest", str(CNIPA), "--format", "cnipa", "--out", str(out), home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "granted" in r.stdout and "1,616" in r.stdout and "Rejected rows" in r.stdout and "1485" in r.stdout
    doc = json.loads((out / "ingest_summary.json").read_text())
    assert (doc["rows_read"], doc["rows_valid"], doc["rows_rejected"]) == (2650, 2646, 4)
    assert doc["decoding"]["mixed_lines"] == [1485] and doc["decoding"]["line_endings"]["crlf"] == 2651
    assert doc["event_counts"]["lapsed"] == 1174 and doc["event_counts"]["waived"] == 76
    rej = pd.read_csv(out / "rejects.csv")
    assert list(rej["source_line"]) == [1393, 1394, 1485, 2604]
    assert rej["reasons"].str.contains("not_null|type|pattern").all()
    assert len(pd.read_parquet(out / "cnipa_patents.parquet")) == 2646


def test_ingest_refuses_an_xml_bomb_in_one_line(tmp_path):
    bomb = zipped(tmp_path / "ad20160102.zip", billion_laughs())
    out = tmp_path / "out"
    r = iprisk("patents", "ingest", str(bomb), "--format", "uspto-assignments", "--out", str(out), home=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "ad20160102.zip!ad20160101.xml" in r.stderr and "entity" in r.stderr and "refused" in r.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_train_survival_on_the_real_sample_then_the_gate(tmp_path):
    # a deterministic split of the real file (every 5th application to the test file), bytes as published
    lines = CNIPA.read_bytes().split(b"\r\n")
    header, body = lines[0], [ln for ln in lines[1:] if ln]
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_bytes(b"\r\n".join([header, *[ln for i, ln in enumerate(body) if i % 5]]) + b"\r\n")
    test.write_bytes(b"\r\n".join([header, *[ln for i, ln in enumerate(body) if not i % 5]]) + b"\r\n")

    r = iprisk("patents", "train-survival", "--data", str(train), "--contract", str(CONTRACT), "--test", str(test),
               "--cv", "3", "--json", "--out", str(tmp_path / "run1"), home=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(r.stdout)
    assert doc["n"] > 1200 and doc["events"] > 850 and doc["c_index_basis"] == "test"
    assert doc["cv"]["k"] == 3 and len(doc["cv"]["folds"]) == 3
    assert doc["cv"]["mean"]["c_index"] > 0.64 and doc["cv"]["mean"]["c_index"] > doc["cv"]["mean"]["expert_c_index"] + 0.02
    assert doc["test"]["c_index"] > 0.64 and doc["test"]["c_index"] == doc["c_index"]
    assert {(c["band"], c["horizon_years"]) for c in doc["test"]["calibration"]} == {(b, h) for b in (1, 2, 3, 4) for h in (3.0, 5.0, 8.0)}
    assert doc["run_id"] and doc["registered_version"] == "1" and doc["gate"]["decision"] == "promoted"
    assert (tmp_path / "run1" / "report" / "validation_report.html").is_file()

    # the same data again: the challenger does not beat the champion by the margin on the same test rows
    r2 = iprisk("patents", "train-survival", "--data", str(train), "--contract", str(CONTRACT), "--test", str(test),
                "--json", home=tmp_path)
    assert r2.returncode == 0, r2.stderr[-3000:]
    g = json.loads(r2.stdout)["gate"]
    assert g["version"] == "2" and g["decision"] == "rejected" and g["champion_version"] == "1"
    assert g["challenger_metric"] == pytest.approx(g["champion_metric"], abs=1e-9)  # deterministic: same model

    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("iprisk-patent-survival", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("iprisk-patent-survival", "challenger").version) == "2"
    tags = client.get_model_version("iprisk-patent-survival", "2").tags
    assert tags["gate.decision"] == "rejected" and tags["gate.rows"] == "test file test.csv"
    model = mlflow.pyfunc.load_model("models:/iprisk-patent-survival@champion")
    from pipelines.survival_job import load_lapse_data

    X = load_lapse_data(test).X.head(4)
    p = model.predict(X, params={"horizons": [3.0, 5.0, 8.0]})
    assert list(p.columns[:3]) == ["survival_3y", "survival_5y", "survival_8y"]
    assert ((p["survival_3y"] >= p["survival_5y"]) & (p["survival_5y"] >= p["survival_8y"])).all()
