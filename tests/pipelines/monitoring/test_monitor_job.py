"""The monitoring job on decisions recorded from the small book's applications (the session's
champions): windows, verdict, files and MLflow run; and every bad input named, nothing written."""

from __future__ import annotations

import json
import uuid

import mlflow
import pandas as pd
import pytest

from data_contracts.application import application_tables
from data_contracts.errors import ContractViolation, InputError, RegistryError
from models.decision import assign_grade
from pipelines.audit_store import AuditLog, dumps
from pipelines.demo_book_shift import applications
from pipelines.monitoring.job import LATEST, monitor
from pipelines.monitoring.reference import load_reference_profile
from pipelines.readers import read_book
from pipelines.registry import load_wrapper


@pytest.fixture(scope="module")
def recorded(trained, tmp_path_factory):
    """60 applications of the small book with the champion's PDs, recorded in two months."""
    folder = tmp_path_factory.mktemp("monitor-job")
    tables = read_book(trained["book"])
    apps = applications(tables, 60, seed=3)
    wrapper, version = load_wrapper("iprisk-pd")
    X = wrapper.feature_builder.transform(application_tables(apps)).reindex([a["loan"]["loan_id"] for a in apps])
    p = wrapper.pd_model.predict_pd(X[list(wrapper.pd_model.feature_names_)])
    grades = assign_grade(p)
    url = f"sqlite:///{folder / 'audit.db'}"
    log = AuditLog(url)
    log.append_many([(uuid.uuid4().hex, f"2026-{10 + i % 2}-0{1 + i % 9}T10:00:00.000000", "loans/score", "t", "credit_officer",
                      dumps(a), dumps({"loan_id": a["loan"]["loan_id"], "probability_of_default": float(p[i]), "grade": str(grades[i]),
                                       "recommendation": "approve" if p[i] < 0.06 else "refer", "loss_given_default": 0.5}),
                      dumps({"iprisk-pd": version})) for i, a in enumerate(apps)])
    log.close()
    outcomes = tables["outcomes"].set_index("loan_id").loc[[a["loan"]["loan_id"] for a in apps]].reset_index()
    return {"url": url, "folder": folder, "outcomes": outcomes[["loan_id", "defaulted", "default_date", "realised_lgd"]]}


def _outcomes(recorded, frame: pd.DataFrame, name: str):
    path = recorded["folder"] / name
    frame.to_csv(path, index=False)
    return path


def test_monitor_counts_windows_back_tests_and_writes_everything(recorded, monkeypatch):
    monkeypatch.setenv("IPRISK__MONITORING__MIN_WINDOW_DECISIONS", "10")
    monkeypatch.setenv("IPRISK__MONITORING__CHUNK_ROWS", "7")  # many chunks: counts must add up
    monkeypatch.setenv("IPRISK__MONITORING__OUTPUT_DIR", str(recorded["folder"] / "state"))
    out = recorded["folder"] / "report"
    s = monitor(audit_url=recorded["url"], outcomes=_outcomes(recorded, recorded["outcomes"], "o.csv"), out_dir=out,
                as_of=pd.Timestamp("2030-01-01").date())
    assert [w["window"] for w in s["windows"]] == ["2026-10", "2026-11"]
    assert sum(w["decisions"] for w in s["windows"]) == 60 == s["decisions"] and s["skipped"] == {}
    w = s["windows"][0]
    assert w["judged"] and set(w["shares"]) <= {"approve", "refer"} and abs(sum(w["grades"].values()) - 1) < 1e-9
    assert len(w["csi"]) > 20 and w["psi_score"] >= 0 and w["by_model_version"][0]["decisions"] == w["decisions"]
    assert s["verdict"] in ("stable", "watch", "act") and s["exit_code"] == {"stable": 0, "watch": 10, "act": 11}[s["verdict"]]
    bt = s["backtest"]
    assert bt["overall"]["loans"] + bt["pending"] == 60 and bt["overall"]["defaults"] == int(recorded["outcomes"]["defaulted"].sum())
    assert (out / "monitoring_report.html").read_text().count("data:image/png;base64") == 4  # score, CSI, grades, calibration
    assert json.loads((out / "monitoring_summary.json").read_text())["verdict"] == s["verdict"]
    assert set(json.loads((recorded["folder"] / "state" / LATEST).read_text())["plots"]) >= {"score distribution", "grade mix by window"}
    run = mlflow.get_run(s["mlflow_run_id"])
    assert run.data.tags["verdict"] == s["verdict"] and "psi_score" in run.data.metrics


@pytest.mark.parametrize("case, match", [
    ("unknown", "were not decided in the audited window"),
    ("early", "default_date before the loan's origination_date"),
    ("contract", "required_if"),
])
def test_bad_outcomes_are_named_and_nothing_is_written(recorded, case, match):
    o = recorded["outcomes"].copy()
    if case == "unknown":
        o.loc[len(o)] = ["L999999999", False, None, None]
    elif case == "early":
        o["defaulted"] = True
        o["default_date"] = "2001-01-01"
    else:
        o["defaulted"] = True
        o["default_date"] = None
    out = recorded["folder"] / f"never-{case}"
    with pytest.raises((InputError, ContractViolation), match=match):
        monitor(audit_url=recorded["url"], outcomes=_outcomes(recorded, o, f"{case}.csv"), out_dir=out)
    assert not out.exists()


def test_an_empty_window_and_a_model_without_profile_say_what_to_do(recorded):
    with pytest.raises(InputError, match="no scored decisions recorded in .2030-01-01"):
        monitor(audit_url=recorded["url"], since="2030-01-01")
    client = mlflow.MlflowClient()
    name = f"iprisk-monitoring-test-{uuid.uuid4().hex[:6]}"
    client.create_registered_model(name)
    run = client.create_run(mlflow.get_experiment_by_name("iprisk").experiment_id)
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/pd_model", run_id=run.info.run_id)
    with pytest.raises(RegistryError, match="no reference profile.*trained before monitoring existed; retrain"):
        load_reference_profile(name, mv.version)


def test_the_fast_path_gives_the_per_record_paths_window_figures(recorded):
    """Column-wise tables, big or small chunks, two worker processes reading their own slices of the
    log with outputs trimmed by SQLite: the same figures, to the last bit, as featurising each recorded
    application on its own record by record in one process."""
    from pipelines.audit_store import decision_slices, stream_decisions
    from pipelines.monitoring.config import load_monitoring_config
    from pipelines.monitoring.job import _window_doc
    from pipelines.monitoring.live import DECISION_ENDPOINTS, OUTPUT_FIELDS, LiveCounter, count_chunks, tables_per_record

    wrapper, version = load_wrapper("iprisk-pd")
    ref = load_reference_profile("iprisk-pd", version)
    ids = set(recorded["outcomes"]["loan_id"])

    def counter() -> LiveCounter:
        return LiveCounter(ref, wrapper.feature_builder, list(wrapper.pd_model.feature_names_), "month", ids)

    chunks = list(stream_decisions(recorded["url"], endpoints=DECISION_ENDPOINTS, chunk_rows=7))
    apps = [json.loads(r[3]) for c in chunks for r in c]
    fast_tables, slow_tables = LiveCounter.tables(apps), tables_per_record(apps)
    for t in ("firms", "patents", "loans", "pledges"):
        pd.testing.assert_frame_equal(fast_tables[t], slow_tables[t])

    slow = counter()
    slow.tables = tables_per_record  # the straightforward build, record by record
    for c in chunks:
        slow.add_chunk(c)
    fast = counter()
    count_chunks(fast, iter(chunks), workers=2)
    slices = decision_slices(recorded["url"], endpoints=DECISION_ENDPOINTS, chunk_rows=7, output_fields=OUTPUT_FIELDS)
    trimmed = [r for s in slices for r in s.rows()]
    assert len(slices) > 2 and sum(len(r[4]) for r in trimmed) < sum(len(r[4]) for c in chunks for r in c)
    sliced = counter()
    count_chunks(sliced, slices, workers=2)
    cfg = load_monitoring_config()
    for c in (fast, sliced):
        assert c.counts.records == slow.counts.records == 60 and c.counts.skipped == slow.counts.skipped
        assert c.counts.outcomes == slow.counts.outcomes
        assert set(c.counts.tallies) == set(slow.counts.tallies)
        for key in slow.counts.tallies:
            docs = [_window_doc(key[0], x.counts.tallies[key], {key[1]: x.counts.tallies[key]}, ref, cfg) for x in (c, slow)]
            assert docs[0] == docs[1]
