"""Readers: the real Polish ARFF file, ARFF quirks, CSV/Parquet by suffix, loan-book directories."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts import InputError, load_contract
from pipelines.readers import read_arff, read_book, read_raw, read_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data_contracts"))
from contract_book import make_book, write_book  # noqa: E402

POLISH = Path(__file__).resolve().parents[3] / "shared" / "data" / "polish_bankruptcy" / "1year.arff"


@pytest.mark.skipif(not POLISH.is_file(), reason="shared Polish data not present")
def test_real_polish_file():
    df = read_arff(POLISH)
    assert df.shape == (7027, 65)
    assert df.columns[0] == "net profit / total assets"
    assert df["bankruptcy"].dtype == np.int64 and int(df["bankruptcy"].sum()) == 271
    assert df.iloc[:, :64].dtypes.eq(np.float64).all()
    assert df.isna().to_numpy().sum() > 0  # '?' became NaN
    typed = read_table(POLISH, load_contract("polish_bankruptcy"))
    assert list(typed.columns[:2]) == ["attr1", "attr2"] and typed["bankruptcy"].sum() == 271


def test_arff_quoting_comments_and_missing(tmp_path):
    f = tmp_path / "x.arff"
    f.write_text(
        "% a comment\n@RELATION test\n"
        "@attribute 'a, quoted' numeric\n@attribute \"b c\" REAL\n@attribute name string\n"
        "@attribute label {yes,no}\n@attribute class { 0 , 1 }\n\n@DATA\n"
        "1.5,?,'hello, world',yes,1\n% inline comment\n-2,3e2,plain,no,0\n"
    )
    df = read_arff(f)
    assert list(df.columns) == ["a, quoted", "b c", "name", "label", "class"]
    assert df["a, quoted"].tolist() == [1.5, -2.0]
    assert np.isnan(df["b c"].iloc[0]) and df["b c"].iloc[1] == 300.0
    assert df["name"].tolist() == ["hello, world", "plain"]
    assert df["label"].tolist() == ["yes", "no"]
    assert df["class"].tolist() == [1, 0]


@pytest.mark.parametrize("text,match", [
    ("just,a,csv\n1,2,3\n", "not an ARFF"),
    ("@attribute a numeric\n@data\n{0 1}\n", "sparse"),
])
def test_arff_bad_files(tmp_path, text, match):
    f = tmp_path / "bad.arff"
    f.write_text(text)
    with pytest.raises(InputError, match=match):
        read_arff(f)


def test_read_table_by_suffix(tmp_path):
    loans = make_book(4)["loans"]
    loans.to_csv(tmp_path / "loans.csv", index=False)
    loans.to_parquet(tmp_path / "loans.parquet", index=False)
    a = read_table(tmp_path / "loans.csv", "loans")
    b = read_table(tmp_path / "loans.parquet", "loans")
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert str(a["term_months"].dtype) == "Int64" and pd.api.types.is_datetime64_any_dtype(a["origination_date"])


def test_read_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_raw(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        read_raw(tmp_path / "x.xlsx")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read"):
        read_raw(tmp_path / "broken.parquet")
    make_book(3)["loans"].drop(columns=["amount"]).to_csv(tmp_path / "loans.csv", index=False)
    with pytest.raises(InputError, match="loans.*amount"):
        read_table(tmp_path / "loans.csv", "loans")


def test_read_book(tmp_path):
    write_book(make_book(4), tmp_path / "book")
    tables = read_book(tmp_path / "book")
    assert set(tables) == {"firms", "patents", "loans", "pledges", "outcomes", "ground_truth"}
    assert str(tables["outcomes"]["defaulted"].dtype) == "boolean"
    (tmp_path / "book" / "pledges.parquet").unlink()
    with pytest.raises(InputError, match="pledges"):
        read_book(tmp_path / "book")
    with pytest.raises(InputError, match="not found"):
        read_book(tmp_path / "missing")
