"""The validation job and `iprisk validate`: reports, exit codes, one clear line on failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli.main import main
from pipelines.validation_job import validate_book, validate_file, validate_tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data_contracts"))
from contract_book import make_book, write_book  # noqa: E402

POLISH = Path(__file__).resolve().parents[3] / "shared" / "data" / "polish_bankruptcy" / "1year.arff"


def run_cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


@pytest.fixture()
def book_dir(tmp_path) -> Path:
    d = tmp_path / "book"
    write_book(make_book(5, seed=2), d)
    return d


@pytest.mark.slow
def test_cli_valid_book_writes_html_and_json(book_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert run_cli(["validate", str(book_dir), "--report-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "patents" in printed and f"HTML report: {out / 'index.html'}" in printed
    assert (out / "index.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["success"] is True and summary["violations"] == []
    by_table = {t["table"]: t for t in summary["tables"]}
    assert set(by_table) == {"firms", "patents", "loans", "pledges", "outcomes", "ground_truth"}
    assert by_table["loans"]["rows"] == 5 and by_table["patents"]["expectations_evaluated"] > 20


@pytest.mark.slow
def test_cli_broken_book_exits_non_zero_with_one_clear_line(book_dir, tmp_path, capsys):
    import pandas as pd

    patents = pd.read_parquet(book_dir / "patents.parquet")
    patents.loc[1, "expiry_date"] = "1990-01-01"
    patents.to_parquet(book_dir / "patents.parquet", index=False)
    code = run_cli(["validate", str(book_dir)])  # default report dir: <book>/validation
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "patents.filing_date,grant_date,expiry_date: rule 'date_order' broken by 1 row(s)" in err[0]
    assert patents.loc[1, "patent_id"] in err[0] and "1990-01-01" in err[0]
    summary = json.loads((book_dir / "validation" / "summary.json").read_text())
    assert summary["success"] is False
    assert summary["violations"][0]["rule"] == "date_order"


@pytest.mark.slow
@pytest.mark.skipif(not POLISH.is_file(), reason="shared Polish data not present")
def test_cli_polish_file_with_contract_passes(tmp_path, capsys):
    repo = Path(__file__).resolve().parents[2]
    code = run_cli(["validate", str(POLISH), "--contract", str(repo / "data_contracts" / "polish_bankruptcy.yaml"),
                    "--report-dir", str(tmp_path / "r"), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tables"][0]["rows"] == 7027 and summary["success"] is True


def test_single_file_contract_inferred_from_stem(tmp_path, capsys):
    loans = make_book(4)["loans"]
    loans.loc[0, "interest_rate"] = 0.9
    loans.to_csv(tmp_path / "loans.csv", index=False)
    report = validate_file(tmp_path / "loans.csv", None, tmp_path / "r", docs=False)
    assert not report.success
    assert [(v.table, v.column, v.rule) for v in report.violations] == [("loans", "interest_rate", "max")]
    assert report.json_path.is_file() and report.html_path is None


def test_unknown_stem_needs_contract(tmp_path, capsys):
    make_book(3)["loans"].to_csv(tmp_path / "mystery.csv", index=False)
    assert run_cli(["validate", str(tmp_path / "mystery.csv"), "--report-dir", str(tmp_path / "r")]) == 2
    assert "--contract" in capsys.readouterr().err
    assert run_cli(["validate", str(tmp_path / "nowhere")]) == 2


def test_validate_book_reports_missing_columns_and_cross_table_problems(book_dir, tmp_path):
    import pandas as pd

    loans = pd.read_parquet(book_dir / "loans.parquet").drop(columns=["currency"])
    loans.to_parquet(book_dir / "loans.parquet", index=False)
    pledges = pd.read_parquet(book_dir / "pledges.parquet")
    pledges.loc[0, "loan_id"] = "L999999"
    pledges.to_parquet(book_dir / "pledges.parquet", index=False)
    report = validate_book(book_dir, tmp_path / "r", docs=False)
    found = {(v.table, v.column, v.rule) for v in report.violations}
    assert found == {("loans", "currency", "missing_column"), ("pledges", "loan_id", "foreign_key")}
    assert report.as_dict()["success"] is False


def test_generated_demo_book_passes(tmp_path):
    from pipelines.demo_book import generate_book

    report = validate_tables(generate_book(120, 5), tmp_path / "r", docs=False)
    assert report.success, [v.describe() for v in report.violations]
