"""Batch scoring's input: a JSON file of applications is checked like a request, and a bad one is
refused with one line naming the field path, the rule and the value."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.errors import InputError
from pipelines.batch_scoring import chunks, read_applications

EXAMPLE = Path(__file__).parents[2] / "serving" / "static" / "example_application.json"


@pytest.fixture
def app() -> dict:
    return json.loads(EXAMPLE.read_text())


def test_good_applications_become_scoring_tables(app, tmp_path):
    other = copy.deepcopy(app)
    other["loan"]["loan_id"] = "L900001"
    f = tmp_path / "apps.json"
    f.write_text(json.dumps({"applications": [app, other]}))
    tables = read_applications(f)
    assert set(tables) == {"firms", "patents", "loans", "pledges"}
    assert len(tables["loans"]) == 2 and len(tables["firms"]) == 1
    assert len(tables["pledges"]) == 2 * len(app["patents"])


@pytest.mark.parametrize("where,value,path,rule", [
    (("patents", 1, "claims_count"), -3, "applications[0].patents[1].claims_count", "min"),
    (("firm", "sector"), "casino", "applications[0].firm.sector", "allowed"),
    (("loan", "term_months"), "long", "applications[0].loan.term_months", "type"),
    (("patents", 0, "grant_date"), "2090-01-01", "applications[0].patents[0].expiry_date", "date_order"),
])
def test_a_bad_application_names_its_field_path(app, tmp_path, where, value, path, rule):
    bad = copy.deepcopy(app)
    target = bad
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    f = tmp_path / "bad.json"
    f.write_text(json.dumps([bad]))
    with pytest.raises(InputError) as e:
        read_applications(f)
    msg = str(e.value)
    assert f"first: {path}: rule '{rule}'" in msg, msg
    assert str(f) in msg and "\n" not in msg


def test_an_unreadable_file_is_an_input_error(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text("{")
    with pytest.raises(InputError, match="cannot read JSON"):
        read_applications(f)


def _isin_chunks(tables: dict, size: int):
    """The definition ``chunks`` must match: Series.isin filters per batch of loans."""
    loans = tables["loans"]
    for lo in range(0, len(loans), size):
        part = loans.iloc[lo: lo + size]
        pl = tables["pledges"][tables["pledges"]["loan_id"].isin(part["loan_id"])]
        yield {"firms": tables["firms"][tables["firms"]["firm_id"].isin(part["firm_id"])],
               "patents": tables["patents"][tables["patents"]["patent_id"].isin(pl["patent_id"])],
               "loans": part, "pledges": pl}


@pytest.mark.parametrize("size", [1, 3, 4, 100])
def test_book_batches_hold_exactly_their_loans_firms_patents_and_pledges(size):
    """Firms with loans in several batches, patents pledged twice, a pledge of an unknown loan, a
    patent no pledge names, a duplicated firm row: every batch equals the isin filters, row for row."""
    s = "string[pyarrow]"
    tables = {
        "loans": pd.DataFrame({"loan_id": pd.array(["L5", "L1", "L3", "L2", "L4", "L6", "L7"], dtype=s),
                               "firm_id": pd.array(["F2", "F1", "F2", "F3", "F1", "F9", "F3"], dtype=s),
                               "amount": [1.0, 2, 3, 4, 5, 6, 7]}),
        "firms": pd.DataFrame({"firm_id": pd.array(["F3", "F1", "F2", "F4", "F3"], dtype=s), "x": [1, 2, 3, 4, 5]},
                              index=[10, 11, 12, 13, 14]),
        "pledges": pd.DataFrame({"loan_id": pd.array(["L1", "L2", "L1", "L5", "L8", "L3", "L7", "L4"], dtype=s),
                                 "patent_id": pd.array(["P1", "P2", "P3", "P1", "P4", "P5", "P2", "P9"], dtype=s)}),
        "patents": pd.DataFrame({"patent_id": pd.array(["P5", "P4", "P3", "P2", "P1", "P0"], dtype=s), "y": range(6)}),
    }
    got = list(chunks(tables, size))
    want = list(_isin_chunks(tables, size)) if size < len(tables["loans"]) else [tables]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert set(g) == set(w)
        for k in w:
            pd.testing.assert_frame_equal(g[k], w[k])
