"""Request records → contract-typed frames: the direct builders (numbers, dates) give what pandas'
own constructors give, and anything unusual goes the pandas way."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts.application import _dates, _numbers, column_frame


@pytest.mark.parametrize("vals", [[1.5, None, 3, 0, -2.25e12], [None, None], [], [2**60, 1e-300]])
def test_numbers_equal_pandas_float_arrays(vals):
    fast = pd.Series(_numbers(vals), dtype="float64")
    ref = pd.Series(pd.array(vals, dtype="float64"))
    pd.testing.assert_series_equal(fast, ref)


def test_numbers_leave_other_types_to_pandas():
    assert isinstance(_numbers([True, 1.0]), pd.api.extensions.ExtensionArray)  # bool is not a JSON number here


@pytest.mark.parametrize("vals", [["2020-01-31", None, "1999-12-31"], [None], ["2024-02-29T10:30:00"], ["2020-1-5"]])
def test_dates_equal_pandas_iso8601(vals):
    ref = pd.to_datetime(pd.Series(vals, dtype=object), format="ISO8601").astype("datetime64[us]")
    pd.testing.assert_series_equal(pd.Series(_dates(vals)), ref, check_names=False)


def test_an_impossible_date_still_fails_the_frame_build_the_pandas_way():
    with pytest.raises(ValueError):
        _dates(["2020-02-30"])
    # column_frame then falls back to coerce_frame, which records the cast failure as a type issue
    frame = column_frame("loans", {"loan_id": ["L1"], "origination_date": ["2020-02-30"]})
    assert frame["origination_date"].isna().all()
    assert frame.attrs["type_issues"]["origination_date"].raw_values == ("2020-02-30",)
