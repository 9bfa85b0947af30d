"""The data scientist's loop as a user runs it: `iprisk train / evaluate / score / promote` in a shell,
against the worker's private registry (the `trained` fixture's)."""

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

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("registry")]


def iprisk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([IPRISK, *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=dict(os.environ))


def test_evaluate_lists_champions(trained):
    r = iprisk("evaluate", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    champs = {x["model"] for x in rows if x["alias"] == "champion"}
    assert {"iprisk-pd", "iprisk-recovery"} <= champs  # the scorecard only when it passed the PD role's checks
    pd_row = next(x for x in rows if x["model"] == "iprisk-pd" and x["alias"] == "champion")
    assert pd_row["gate"]["decision"] == "promoted" and "pd.auc" in pd_row["metrics"]


def test_batch_score_a_book_and_an_applications_file(trained, tmp_path):
    out = tmp_path / "scores.csv"
    r = iprisk("score", "--input", str(trained["book"]), "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(out)
    loans = pd.read_parquet(trained["book"] / "loans.parquet")
    assert len(s) == len(loans) and set(s["loan_id"]) == set(loans["loan_id"])
    for col in ("probability_of_default", "grade", "loss_given_default", "expected_loss", "max_loan_amount", "recommendation", "reason_1", "reasons"):
        assert col in s.columns
    assert s["probability_of_default"].between(0, 1).all() and s["recommendation"].isin(["approve", "refer", "decline"]).all()

    # one application as JSON, the API's shape
    book = {t: pd.read_parquet(trained["book"] / f"{t}.parquet") for t in ("firms", "patents", "loans", "pledges")}
    loan = book["loans"].iloc[0]
    pats = book["patents"][book["patents"]["patent_id"].isin(book["pledges"].loc[book["pledges"]["loan_id"] == loan["loan_id"], "patent_id"])]
    firm = book["firms"][book["firms"]["firm_id"] == loan["firm_id"]].iloc[0]
    js = lambda d: json.loads(pd.Series(d).to_json(date_format="iso"))  # noqa: E731
    app = {"firm": js(firm.to_dict()), "patents": [js(p) for p in pats.to_dict(orient="records")], "loan": js(loan.to_dict())}
    for obj in [app["firm"], app["loan"], *app["patents"]]:
        for k, v in list(obj.items()):
            if isinstance(v, str) and v.endswith("T00:00:00.000"):
                obj[k] = v[:10]
    f = tmp_path / "apps.json"
    f.write_text(json.dumps([app]))
    out2 = tmp_path / "one.parquet"
    r = iprisk("score", "--input", str(f), "--out", str(out2))
    assert r.returncode == 0, r.stderr
    one = pd.read_parquet(out2)
    assert one["probability_of_default"].iloc[0] == pytest.approx(s.set_index("loan_id").loc[loan["loan_id"], "probability_of_default"], rel=1e-9)


def test_bad_score_input_is_one_clear_line(trained, tmp_path):
    r = iprisk("score", "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "x.csv"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "missing" in r.stderr
    assert not (tmp_path / "x.csv").exists()


def test_promote_by_hand_records_the_reason(trained):
    from mlflow import MlflowClient

    from pipelines import registry

    v = registry.latest_version("iprisk-scorecard")  # rejected or promoted: a reviewer may promote either by hand
    r = iprisk("promote", "iprisk-scorecard", v, "--reason", "reviewed by model risk")
    assert r.returncode == 0, r.stderr
    tags = MlflowClient().get_model_version("iprisk-scorecard", v).tags
    assert tags["gate.reason"].startswith("manual: reviewed by model risk")


@pytest.mark.skipif(not POLISH.exists(), reason="shared Polish data set not present")
def test_train_on_your_own_table_prints_json(trained, tmp_path):
    r = iprisk("train", "--data", str(POLISH), "--contract", str(REPO / "data_contracts" / "polish_bankruptcy.yaml"),
               "--target", "bankruptcy", "--json", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["auc"] > 0.9 and doc["scorecard_auc"] > 0.75
    assert set(doc["registered_versions"]) == {"iprisk-pd-polish_bankruptcy", "iprisk-scorecard-polish_bankruptcy"}
    assert doc["run_id"] and doc["gate"]


def test_one_class_target_exits_non_zero_naming_the_column(trained, tmp_path):
    import yaml

    df = pd.DataFrame({"x1": [0.1, 0.2, 0.3] * 20, "x2": [1.0, 2.0, 3.0] * 20, "default": [0] * 60})
    f = tmp_path / "mine.csv"
    df.to_csv(f, index=False)
    c = {"table": "mine", "version": "1.0.0", "kind": "byod", "description": "test table", "target": "default",
         "columns": [{"name": "x1", "type": "number", "description": "ratio 1"},
                     {"name": "x2", "type": "number", "description": "ratio 2", "risk_direction": "riskier"},
                     {"name": "default", "type": "integer", "min": 0, "max": 1, "description": "defaulted"}]}
    cf = tmp_path / "mine.yaml"
    cf.write_text(yaml.safe_dump(c))
    r = iprisk("train", "--data", str(f), "--contract", str(cf), "--target", "default")
    assert r.returncode != 0 and "mine.default" in r.stderr and "one class" in r.stderr
    from mlflow import MlflowClient

    assert not MlflowClient().search_model_versions("name='iprisk-pd-mine'")


def test_contract_that_does_not_match_the_file(trained, tmp_path):
    f = tmp_path / "other.csv"
    pd.DataFrame({"a": [1, 2], "b": [0, 1]}).to_csv(f, index=False)
    r = iprisk("train", "--data", str(f), "--contract", str(REPO / "data_contracts" / "polish_bankruptcy.yaml"), "--target", "bankruptcy")
    assert r.returncode != 0 and "polish_bankruptcy" in r.stderr and "Traceback" not in r.stderr
