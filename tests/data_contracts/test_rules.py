"""Every rule kind is caught by both enforcers (fast validator and GX suite) with the same names,
counts and row ids; a clean book passes both."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts import ContractViolation, load_contract
from data_contracts.validate import check_frame, check_record, check_tables, raise_on


def _key(vs):
    return sorted((v.table, v.column, v.rule, v.count, tuple(map(str, v.row_ids))) for v in vs)


def _set(b, table, col, row, value):
    df = b[table].astype({col: object})
    df.loc[row, col] = value
    b[table] = df


def _dup_last_row(b, table):
    b[table] = pd.concat([b[table], b[table].iloc[[0]]], ignore_index=True)


# (id, table, mutation, expected {(column, rule): count})
CASES = [
    ("not_null", "firms", lambda b: _set(b, "firms", "employees", 1, None), {("employees", "not_null"): 1}),
    ("type_number", "firms", lambda b: _set(b, "firms", "current_ratio", 2, "abc"), {("current_ratio", "type"): 1}),
    ("type_boolean", "firms", lambda b: _set(b, "firms", "high_tech_certified", 0, "maybe"),
     {("high_tech_certified", "type"): 1}),
    ("type_date", "firms", lambda b: _set(b, "firms", "founding_date", 3, "2020-13-45"), {("founding_date", "type"): 1}),
    ("type_integer", "loans", lambda b: _set(b, "loans", "term_months", 1, 12.5), {("term_months", "type"): 1}),
    ("min", "firms", lambda b: _set(b, "firms", "employees", 0, 0), {("employees", "min"): 1}),
    ("max", "firms", lambda b: _set(b, "firms", "liabilities_to_assets", 4, 11.0), {("liabilities_to_assets", "max"): 1}),
    ("allowed", "firms", lambda b: _set(b, "firms", "sector", 5, "toys"), {("sector", "allowed"): 1}),
    ("pattern", "patents", lambda b: _set(b, "patents", "ipc_main", 2, "g06f"), {("ipc_main", "pattern"): 1}),
    ("unique", "firms", lambda b: _dup_last_row(b, "firms"), {("firm_id", "unique"): 2}),
    ("unique_compound", "pledges", lambda b: _dup_last_row(b, "pledges"), {("loan_id,patent_id", "unique"): 2}),
    ("foreign_key", "loans", lambda b: _set(b, "loans", "firm_id", 0, "F999999"), {("firm_id", "foreign_key"): 1}),
    ("foreign_key_pledges", "pledges", lambda b: _set(b, "pledges", "patent_id", 3, "CN999999999"),
     {("patent_id", "foreign_key"): 1}),
    ("date_order", "patents", lambda b: _set(b, "patents", "expiry_date", 1, "1990-01-01"),
     {("filing_date,grant_date,expiry_date", "date_order"): 1}),
    ("date_order_cross_table", "outcomes", lambda b: _set(b, "outcomes", "default_date", 0, "1999-01-01"),
     {("loans.origination_date,default_date,recovery_date", "date_order"): 1}),
    ("column_order", "patents", lambda b: _set(b, "patents", "independent_claims", 0, 99),
     {("independent_claims,claims_count", "column_order"): 1}),
    ("sum_at_most", "loans", lambda b: _set(b, "loans", "guarantee_share", 2, 0.95),
     {("guarantee_share,insurance_share,compensation_share", "sum_at_most"): 1}),
    ("required_if_true", "outcomes", lambda b: _set(b, "outcomes", "recovery_date", 0, None),
     {("defaulted,default_date,patents_sold,sale_price,recovery_date,recovered_amount,realised_lgd", "required_if"): 1}),
    ("required_if_false", "outcomes", lambda b: _set(b, "outcomes", "sale_price", 1, 5.0),
     {("defaulted,default_date,patents_sold,sale_price,recovery_date,recovered_amount,realised_lgd", "required_if"): 1}),
    ("missing_column", "loans", lambda b: b.__setitem__("loans", b["loans"].drop(columns=["amount"])),
     {("amount", "missing_column"): 6}),
]


def test_clean_book_passes_both(clean_book, gx_runner):
    assert check_tables(clean_book) == []
    for name, df in clean_book.items():
        assert gx_runner.validate(df, load_contract(name), clean_book).violations == []


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_caught_by_both_enforcers(case, book, gx_runner):
    _, table, mutate, expected = case
    mutate(book)
    contract = load_contract(table)
    fast = check_frame(book[table], contract, book)
    gx = gx_runner.validate(book[table], contract, book).violations
    got = {(v.column, v.rule): v.count for v in fast}
    assert got == expected
    assert _key(fast) == _key(gx)
    assert all(v.table == table for v in fast + gx)
    # examples show the offending values, row ids the primary keys
    v = fast[0]
    assert v.examples
    if v.rule != "missing_column":
        assert len(v.row_ids) == v.count
        pk = contract.primary_key[0]
        assert all(str(r).split("/")[0] in set(book[table][pk].astype(str)) for r in v.row_ids)


def test_type_violation_keeps_raw_value_and_is_not_also_null(book, gx_runner):
    _set(book, "firms", "employees", 1, "lots")
    c = load_contract("firms")
    fast = check_frame(book["firms"], c)
    assert [(v.column, v.rule, v.examples) for v in fast] == [("employees", "type", ("lots",))]
    gx = gx_runner.validate(book["firms"], c).violations
    assert [(v.column, v.rule, v.examples) for v in gx] == [("employees", "type", ("lots",))]


def test_date_order_violation_names_dates(book):
    _set(book, "patents", "grant_date", 0, "1980-01-01")
    [v] = check_frame(book["patents"], load_contract("patents"))
    assert v.row_ids == (book["patents"]["patent_id"].iloc[0],)
    assert v.examples[0]["grant_date"] == "1980-01-01"
    assert "patents.filing_date,grant_date,expiry_date: rule 'date_order' broken by 1 row(s)" in v.describe()


def test_check_tables_finds_cross_table_problems(book):
    _set(book, "outcomes", "loan_id", 0, "L999999")
    _set(book, "ground_truth", "true_pd", 0, 1.5)
    found = {(v.table, v.column, v.rule) for v in check_tables(book)}
    assert ("outcomes", "loan_id", "foreign_key") in found
    assert ("ground_truth", "true_pd", "max") in found


def test_check_tables_requires_core_tables(clean_book):
    from data_contracts import InputError

    with pytest.raises(InputError, match="pledges"):
        check_tables({k: v for k, v in clean_book.items() if k != "pledges"})


def test_raise_on_names_the_first_violation(book):
    _set(book, "loans", "interest_rate", 0, 0.5)
    vs = check_frame(book["loans"], load_contract("loans"))
    with pytest.raises(ContractViolation) as e:
        raise_on(vs)
    assert "loans.interest_rate: rule 'max'" in str(e.value) and "0.5" in str(e.value)
    assert e.value.exit_code == 3
    raise_on([])  # no violations: no error


# ----------------------------------------------------------------------------------------- records
def _record(book, table, i=0):
    return {k: (None if pd.isna(v) else v) for k, v in book[table].iloc[i].to_dict().items()}


def test_clean_records_pass(clean_book):
    for table in ("firms", "patents", "loans", "outcomes"):
        c = load_contract(table)
        for i in range(len(clean_book[table])):
            assert check_record(_record(clean_book, table, i), c) == []


@pytest.mark.parametrize("table,change,expected", [
    ("loans", {"amount": None}, ("amount", "not_null")),
    ("loans", {"amount": "abc"}, ("amount", "type")),
    ("loans", {"term_months": 0}, ("term_months", "min")),
    ("loans", {"interest_rate": 0.5}, ("interest_rate", "max")),
    ("loans", {"currency": "USD"}, ("currency", "allowed")),
    ("loans", {"loan_id": "X1"}, ("loan_id", "pattern")),
    ("loans", {"guarantee_share": 0.9, "insurance_share": 0.2}, ("guarantee_share,insurance_share,compensation_share", "sum_at_most")),
    ("patents", {"grant_date": "1980-01-01"}, ("filing_date,grant_date,expiry_date", "date_order")),
    ("patents", {"independent_claims": 999}, ("independent_claims,claims_count", "column_order")),
    ("patents", {"exclusive_licence": "maybe"}, ("exclusive_licence", "type")),
    ("outcomes", {"defaulted": True, "default_date": None},
     ("defaulted,default_date,patents_sold,sale_price,recovery_date,recovered_amount,realised_lgd", "required_if")),
])
def test_record_rules_agree_with_frame_rules(clean_book, table, change, expected):
    c = load_contract(table)
    i = 0 if table != "outcomes" else 1  # outcomes row 1 did not default
    rec = {**_record(clean_book, table, i), **change}
    got = [(v.column, v.rule) for v in check_record(rec, c)]
    assert expected in got
    frame_got = [(v.column, v.rule) for v in check_frame(pd.DataFrame([rec]), c)]
    assert sorted(got) == sorted(frame_got)


def test_record_missing_key_and_extra_keys(clean_book):
    c = load_contract("loans")
    rec = _record(clean_book, "loans")
    rec.pop("amount")
    rec["unused"] = 1
    assert [(v.column, v.rule) for v in check_record(rec, c)] == [("amount", "missing_column")]
    pool = load_contract("pool")
    ok = {"loan_id": "L1", "exposure_at_default": 1e6, "probability_of_default": 0.02, "loss_given_default": 0.4}
    assert check_record(ok, pool) == []  # nullable fields may be absent


def test_large_parent_foreign_key_uses_flag_column_in_gx(book, gx_runner, monkeypatch):
    import data_contracts.gx_suite as gxs

    monkeypatch.setattr(gxs, "FK_INLINE_MAX", 0)
    _set(book, "pledges", "patent_id", 2, "CN000000000")
    c = load_contract("pledges")
    gx = gx_runner.validate(book["pledges"], c, book).violations
    assert _key(gx) == _key(check_frame(book["pledges"], c, book))
    assert [(v.column, v.rule, v.examples) for v in gx] == [("patent_id", "foreign_key", ("CN000000000",))]
