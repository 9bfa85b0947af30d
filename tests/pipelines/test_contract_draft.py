"""`iprisk contract draft`: a contract drafted from a table loads, validates its own file with zero
failures, keeps identifiers out of the features, proposes (never enforces) risk directions; and
`train_table` accepts it unchanged, with `--test`, and refuses bad input in one clear line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit

from data_contracts import load_contract
from data_contracts.errors import ContractViolation, InputError, ModelError
from pipelines.contract_draft import draft_contract, render_yaml, snake, write_draft
from pipelines.validation_job import validate_file


def bank_table(n: int, seed: int) -> pd.DataFrame:
    """A bank's own firm table: an id, a sector, a date, ratios (one with gaps), a flag, the default."""
    rng = np.random.default_rng(seed)
    lev = rng.gamma(2.0, 0.3, size=n)
    roa = rng.normal(0.05, 0.1, size=n)
    y = (rng.random(n) < expit(-2.6 + 2.0 * (lev - 0.6) - 8.0 * roa)).astype(int)
    df = pd.DataFrame({
        "Firm ID": [f"F{seed}-{i:05d}" for i in range(n)],
        "sector": rng.choice(["retail", "tech", "manufacturing"], size=n),
        "report_date": pd.Timestamp("2024-12-31").strftime("%Y-%m-%d"),
        "Debt / Assets": lev, "return on assets": roa, "employees": rng.integers(1, 500, size=n),
        "cash ratio": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(size=n)), "default": y,
    })
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bank")
    bank_table(1500, 1).to_csv(d / "bank_2023.csv", index=False)
    bank_table(800, 2).to_csv(d / "bank_2024.csv", index=False)
    draft = draft_contract(d / "bank_2023.csv", "default")
    out = write_draft(draft, d / "bank.yaml")
    return d, draft, out


def test_draft_describes_the_table(files):
    d, draft, out = files
    c = load_contract(out)
    assert c.table == "bank_2023" and c.kind == "byod" and c.target == "default" and c.file_format == "csv"
    assert c.primary_key == ("firm_id",)  # unique text: the key, never a feature
    cols = {col.name: col for col in c.columns}
    assert cols["firm_id"].source_name == "Firm ID" and cols["debt_assets"].source_name == "Debt / Assets"
    assert cols["sector"].type == "category" and cols["sector"].allowed == ("manufacturing", "retail", "tech")
    assert cols["report_date"].type == "date" and cols["employees"].type == "integer"
    assert cols["cash_ratio"].nullable and not cols["debt_assets"].nullable
    raw = bank_table(1500, 1)
    assert cols["debt_assets"].min <= raw["Debt / Assets"].min() and cols["debt_assets"].max > raw["Debt / Assets"].max()
    assert cols["debt_assets"].min >= 0  # a non-negative column stays non-negative
    assert all(col.description.startswith("TODO") for col in c.columns)
    assert "firm_id" not in {col.name for col in c.feature_columns}
    # directions are proposed in comments with their evidence, not enforced
    assert c.risk_directions() == {}
    text = out.read_text()
    assert "# risk_direction: riskier   # PROPOSED" in text and "# risk_direction: safer   # PROPOSED" in text
    assert "Spearman rho" in text


def test_draft_validates_its_own_file_and_a_confirmed_direction_loads(files, tmp_path):
    d, draft, out = files
    assert validate_file(d / "bank_2023.csv", out, tmp_path / "v", docs=False).success
    confirmed = out.read_text().replace("  # risk_direction: riskier   # PROPOSED", "  risk_direction: riskier  # PROPOSED", 1)
    (tmp_path / "c.yaml").write_text(confirmed)
    assert len(load_contract(tmp_path / "c.yaml").risk_directions()) == 1


def test_draft_refuses_a_target_that_is_not_0_1(tmp_path):
    df = bank_table(50, 3).assign(default=lambda f: f["default"] + 1)
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match=r"t.csv: target column 'default': rule 'target_0_1'"):
        draft_contract(tmp_path / "t.csv", "default")
    with pytest.raises(InputError, match="target column 'bad' not found"):
        draft_contract(tmp_path / "t.csv", "bad")


def test_names_become_identifiers():
    assert snake("net profit / total assets") == "net_profit_total_assets"
    assert snake("1st ratio") == "c_1st_ratio"
    assert yaml.safe_load(render_yaml(draft_contract.__globals__["Draft"]("t", "csv", "y", [], [], "f.csv", 1, 0)))["columns"] is None


@pytest.mark.slow
def test_train_accepts_the_draft_unchanged_with_a_test_file(files, registry_env, tmp_path):
    from pipelines.training import train_table

    d, _, out = files
    r = train_table(d / "bank_2023.csv", out, test_file=d / "bank_2024.csv", out_dir=tmp_path / "run", promote=False)
    t = r["test"]
    assert r["rows"] == 1500 and r["test_rows"] == 800 and 0.5 < t["auc"] <= 1
    assert t["default_rate_lo95"] <= t["default_rate"] <= t["default_rate_hi95"] and 0 < t["mean_pd"] < 1
    assert t["psi_score"] >= 0 and r["metrics"]["test.auc"] == t["auc"]
    assert r["direction_evidence"] == [] and r["registered_versions"] == {}


@pytest.mark.slow
def test_bad_inputs_are_one_clear_line_and_register_nothing(files, registry_env, tmp_path):
    from pipelines.training import train_table

    d, _, out = files
    wrong = bank_table(300, 4).drop(columns=["cash ratio"])
    wrong.to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(InputError, match=r"test file other.csv: columns do not match contract 'bank_2023' \(rule 'columns_match'\): "
                                         r"missing \['cash ratio'\]"):
        train_table(d / "bank_2023.csv", out, test_file=tmp_path / "other.csv", out_dir=tmp_path / "a")
    broken = bank_table(300, 4).assign(employees=-5)  # a range the contract refuses
    broken.to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(ContractViolation, match=r"test file broken.csv does not match contract 'bank_2023': bank_2023.employees"):
        train_table(d / "bank_2023.csv", out, test_file=tmp_path / "broken.csv", out_dir=tmp_path / "c")
    few = bank_table(1500, 1)
    few["default"] = 0
    few.loc[:4, "default"] = 1
    few.to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(ModelError, match=r"few.csv: bank_2023.default: only 5 default\(s\)"):
        train_table(tmp_path / "few.csv", out, out_dir=tmp_path / "b")
