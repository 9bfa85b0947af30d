"""Batch scoring's input: a JSON file of applications is checked like a request, and a bad one is
refused with one line naming the field path, the rule and the value."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from data_contracts.errors import InputError
from pipelines.batch_scoring import read_applications

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
