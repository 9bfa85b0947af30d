"""Property: the fast validator's row verdicts and GX's per-row verdicts agree, record by record,
on batches of good and bad rows (out-of-range numbers, bad categories, bad text, nulls where not
allowed, bad date orders, share sums above 1, claims out of order)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts import load_contract
from data_contracts.validate import row_verdicts

TABLES = ("loans", "patents", "outcomes")


def _bad_values(col) -> list:
    """Values that break ``col``'s contract (or merely exercise casting), derived from the contract."""
    out: list = []
    if not col.nullable:
        out.append(None)
    if col.type in ("integer", "number"):
        if col.min is not None:
            out += [col.min - 1, col.min]
        if col.max is not None:
            out += [col.max * 2 + 1, col.max]
        out += ["abc", "12"]
        if col.type == "integer":
            out.append(2.5)
    elif col.type == "category":
        out += ["bogus", col.allowed[0]]
    elif col.type == "string" and col.pattern:
        out += ["bad id", ""]
    elif col.type == "date":
        out += ["2020-13-45", "1990-01-01", "2060-06-30", date(2015, 3, 1)]
    elif col.type == "boolean":
        out += ["maybe", "yes", 0, True]
    return out


@st.composite
def batches(draw, base: pd.DataFrame, table: str):
    """Up to 16 rows: row 0 is a clean row; each other row mutates 0-4 columns of a clean row."""
    contract = load_contract(table)
    cols = [c for c in contract.columns if _bad_values(c)]
    n = draw(st.integers(4, 16))
    rows = [base.iloc[0].to_dict()]
    for _ in range(n - 1):
        row = base.iloc[draw(st.integers(0, len(base) - 1))].to_dict()
        for col in draw(st.lists(st.sampled_from(cols), max_size=4, unique_by=lambda c: c.name)):
            row[col.name] = draw(st.sampled_from(_bad_values(col)))
        if table == "loans" and draw(st.booleans()):  # shares drawn freely: sums above 1 happen
            for c in ("guarantee_share", "insurance_share", "compensation_share"):
                row[c] = draw(st.floats(0, 0.6, allow_nan=False))
        if table == "patents" and draw(st.booleans()):
            row["independent_claims"] = draw(st.integers(1, 40))
        if table == "outcomes" and draw(st.booleans()):
            row["defaulted"] = draw(st.booleans())
        rows.append(row)
    return pd.DataFrame(rows).astype(object)


@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_fast_and_gx_row_verdicts_agree(table, clean_book, gx_runner):
    base = clean_book[table]
    contract = load_contract(table)
    seen = {"good": 0, "bad": 0}

    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batch=batches(base, table))
    def check(batch):
        fast = row_verdicts(batch, contract)
        gx = gx_runner.validate(batch, contract, None, table_rules=False).row_ok
        assert fast[0] and gx[0], "a clean row must pass"
        assert fast.tolist() == gx.tolist(), batch.loc[fast != gx].to_dict("records")
        seen["good"] += int(fast.sum())
        seen["bad"] += int((~fast).sum())

    check()
    assert seen["bad"] > 0 and seen["good"] > 0
