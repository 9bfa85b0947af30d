"""The catalogue: directions and descriptions derived from the contracts, constraints, docs."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from data_contracts import ContractError, ModelError, load_contract
from features import feature_specs, features_markdown, monotone_constraints, patent_indicator_specs, spec_for
from features.specs import POOL_AGGREGATES, _derive, pool_feature_name, update_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def _contract_column(qualified: str):
    table, col = qualified.split(".", 1)
    return load_contract(table).column(col)


def test_specs_are_frozen_and_complete():
    for enc in ("codes", "onehot"):
        specs = feature_specs(enc)
        names = [s.name for s in specs]
        assert len(names) == len(set(names))
        for s in specs:
            assert s.group in ("legal", "technical", "economic", "firm", "loan")
            assert s.direction in (-1, 0, 1)
            assert s.description and s.direction_reason
            assert s.source_columns and all(q.split(".")[0] in s.source_table for q in s.source_columns)
            for q in s.source_columns:
                _contract_column(q)  # every source exists in its contract
    with pytest.raises(FrozenInstanceError):
        feature_specs()[0].direction = 1


def test_single_column_features_inherit_the_contract_direction_and_words():
    """Aggregates and monotone transforms of one contract column carry its direction and description."""
    checked = 0
    for s in feature_specs():
        directional = [q for q in s.source_columns if _contract_column(q).risk_direction]
        if len(s.source_columns) == 1 and directional and not s.direction_reason.startswith("declared"):
            col = _contract_column(s.source_columns[0])
            assert s.direction == col.monotone_sign, s.name
            if s.name.startswith("pledged_") or s.name == col.name:
                assert s.description.startswith(col.description), s.name
            checked += 1
    assert checked >= 30
    assert spec_for("pledged_claims_count_wmean").direction == load_contract("patents").risk_directions()["claims_count"] == -1
    assert spec_for("pledged_litigation_count_max").direction == 1
    assert spec_for("log_revenue").direction == load_contract("firms").risk_directions()["revenue"]


def test_every_pool_aggregate_keeps_its_indicator_direction():
    base = {s.name: s for s in patent_indicator_specs()}
    for ind, agg in POOL_AGGREGATES:
        assert spec_for(pool_feature_name(ind, agg)).direction == base[ind].direction


def test_loan_structure_directions():
    assert spec_for("ltv").direction == 1 and "declared" in spec_for("ltv").direction_reason
    assert spec_for("coverage_after_enhancements").direction == -1
    assert spec_for("enhancement_share").direction == -1
    assert spec_for("amount_to_assets").direction == 1
    assert spec_for("log_amount").direction == load_contract("loans").risk_directions()["amount"]
    assert spec_for("term_months").direction == load_contract("loans").risk_directions()["term_months"]
    for name in ("sector_code", "region_code", "ownership_type_code", "pledged_backward_citations_wmean"):
        assert spec_for(name).direction == 0


def test_derivation_rules():
    assert _derive((("patents.claims_count", 1),))[0] == -1
    assert _derive((("patents.claims_count", -1),))[0] == 1
    assert _derive((("loans.amount", 1), ("patents.appraised_value", 1)))[0] == 0  # the two disagree
    assert _derive((("patents.claims_count", 0),))[0] == 0  # not monotone: ambiguous
    assert _derive((("patents.backward_citations", 1),)) == (0, "no risk direction in the contract")
    with pytest.raises(ContractError, match="declared"):
        _derive((("patents.claims_count", 1),), declared=(1, "contradicts the contract"))


def test_monotone_constraints_align_and_reject_unknown_names():
    names = ["ltv", "pledged_claims_count_wmean", "sector_code", "region__beijing"]
    assert monotone_constraints(names) == [1, -1, 0, 0]
    assert monotone_constraints(list(reversed(names))) == [0, 0, -1, 1]
    with pytest.raises(ModelError, match="unknown feature"):
        monotone_constraints(["ltv", "interest_rate"])


def test_docs_features_md_is_generated_from_the_specs():
    text = DOC.read_text(encoding="utf-8")
    assert update_markdown(text) == text, (
        "docs/features.md is stale; regenerate with: .venv/bin/python -c \"from pathlib import Path; "
        "from features.specs import update_markdown as u; p = Path('docs/features.md'); p.write_text(u(p.read_text()))\""
    )
    for s in feature_specs():
        assert f"`{s.name}`" in features_markdown()
