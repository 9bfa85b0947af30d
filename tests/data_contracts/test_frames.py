"""coerce_frame: renaming, missing columns, casting, and cast failures kept as type issues."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts import InputError, load_contract
from data_contracts.frames import coerce_frame, coerce_with_issues, type_issues


def test_clean_book_casts_to_contract_types(clean_book):
    for name, df in clean_book.items():
        c = load_contract(name)
        typed = coerce_frame(df, c)
        assert type_issues(typed) == {}
        for col in c.columns:
            dtype = typed[col.name].dtype
            if col.type == "integer":
                assert str(dtype) == "Int64"
            elif col.type == "number":
                assert dtype == np.float64
            elif col.type == "date":
                assert pd.api.types.is_datetime64_any_dtype(dtype)
            elif col.type == "boolean":
                assert str(dtype) == "boolean"
            else:
                assert pd.api.types.is_string_dtype(dtype)


def test_missing_required_columns_name_table_and_columns(clean_book):
    loans = clean_book["loans"].drop(columns=["amount", "term_months"])
    with pytest.raises(InputError) as e:
        coerce_frame(loans, load_contract("loans"))
    msg = str(e.value)
    assert "loans" in msg and "amount" in msg and "term_months" in msg


def test_absent_nullable_column_becomes_null_and_extra_columns_stay(clean_book):
    firms = clean_book["firms"].drop(columns=["interest_coverage"]).assign(note="x")
    typed = coerce_frame(firms, load_contract("firms"))
    assert typed["interest_coverage"].isna().all()
    assert (typed["note"] == "x").all()


def test_source_names_are_renamed():
    c = load_contract("polish_bankruptcy")
    raw = pd.DataFrame({col.source_name: [0.5, None] for col in c.columns if col.source_name})
    raw["bankruptcy"] = [0, 1]
    typed = coerce_frame(raw, c)
    assert list(typed.columns[:3]) == ["attr1", "attr2", "attr3"]
    assert typed["bankruptcy"].tolist() == [0, 1]


def test_uncastable_values_become_type_issues_not_crashes():
    c = load_contract("outcomes")
    raw = pd.DataFrame({
        "loan_id": ["L000001", "L000002", "L000003", "L000004"],
        "defaulted": ["yes", "maybe", False, 1],
        "default_date": ["2020-01-01", "2020-13-45", None, "2021/02/03"],
        "sale_price": ["1.5", "abc", None, 7],
    })
    typed, issues = coerce_with_issues(raw, c)
    assert issues["defaulted"].positions == (1,) and issues["defaulted"].raw_values == ("maybe",)
    assert issues["default_date"].raw_values == ("2020-13-45",)
    assert issues["sale_price"].raw_values == ("abc",)
    assert typed["defaulted"].tolist()[0] is True and pd.isna(typed["defaulted"].iloc[1])
    assert typed["sale_price"].tolist()[0] == 1.5 and typed["sale_price"].iloc[3] == 7.0
    assert typed["default_date"].iloc[3] == pd.Timestamp("2021-02-03")
    # a frame coerced once keeps its issues when coerced again
    _, again = coerce_with_issues(typed, c)
    assert set(again) == {"defaulted", "default_date", "sale_price"}


def test_non_integral_value_in_integer_column_is_a_type_issue(clean_book):
    loans = clean_book["loans"].copy()
    loans["term_months"] = loans["term_months"].astype(float)
    loans.loc[2, "term_months"] = 12.5
    typed, issues = coerce_with_issues(loans, load_contract("loans"))
    assert issues["term_months"].positions == (2,)
    assert typed["term_months"].isna().sum() == 1
