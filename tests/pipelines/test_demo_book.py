"""The demo book: contract shape, determinism, references, date orders, default and LGD behaviour."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_contracts import load_contract
from data_contracts.errors import ContractError, InputError
from models.lgd import loss_given_default
from pipelines import demo_book_priors as P
from pipelines.demo_book import TABLES, generate_book, read_manifest, write_book
from pipelines.demo_book_config import DemoBookConfig, load_demo_book_config
from pipelines.demo_book_outcomes import RECOVERY_BETA, Disposal, expected_lgd, pd_score

N_FIRMS = 6000


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return generate_book(N_FIRMS, 11)


@pytest.fixture(scope="module")
def loan_view(book) -> pd.DataFrame:
    """Loans joined with outcomes, truth and their firm."""
    return (
        book["loans"].merge(book["outcomes"], on="loan_id").merge(book["ground_truth"], on="loan_id")
        .merge(book["firms"], on="firm_id", suffixes=("", "_firm"))
    )


# --- shape -----------------------------------------------------------------------------------------
def test_tables_have_exactly_the_contract_columns(book):
    assert set(book) == set(TABLES)
    for name in TABLES:
        assert list(book[name].columns) == list(load_contract(name).column_names), name


def test_book_passes_the_contract_validator():
    from data_contracts.validate import check_tables

    violations = check_tables(generate_book(2000, 3))
    assert violations == [], [v.describe() for v in violations[:5]]


def test_priors_use_the_contracts_allowed_values():
    firms, patents = load_contract("firms"), load_contract("patents")
    assert set(P.SECTOR_SHARES) == set(firms.column("sector").allowed)
    assert set(P.REGION_SHARES) == set(firms.column("region").allowed)
    assert set(P.OWNERSHIP_SHARES) == set(firms.column("ownership_type").allowed)
    assert set(P.RIGHT_TYPES) == set(patents.column("right_type").allowed)
    assert set(P.LEGAL_STATUSES) == set(patents.column("legal_status").allowed)
    assert set(P.APPRAISAL_METHODS) == set(patents.column("appraisal_method").allowed)
    pattern = re.compile(patents.column("ipc_main").pattern)
    assert all(pattern.match(code) for codes in P.IPC_BY_SECTOR.values() for code in codes)


def test_values_respect_contract_ranges_and_patterns(book):
    for name in TABLES:
        contract = load_contract(name)
        df = book[name]
        for col in contract.columns:
            s = df[col.name]
            if not col.nullable:
                assert not s.isna().any(), f"{name}.{col.name} has nulls"
            v = s.dropna()
            if col.min is not None:
                assert (v >= col.min).all(), f"{name}.{col.name} below min"
            if col.max is not None:
                assert (v <= col.max).all(), f"{name}.{col.name} above max"
            if col.allowed:
                assert set(v.unique()) <= set(col.allowed), f"{name}.{col.name}"
            if col.pattern:
                assert v.astype(str).str.fullmatch(col.pattern).all(), f"{name}.{col.name} pattern"


def test_patent_numbers_carry_a_valid_check_character(book):
    ids = book["patents"]["patent_id"].to_numpy(str)
    assert len(set(ids)) == len(ids)
    digits = np.array([[int(ch) for ch in x[2:14]] for x in ids[:500]])
    check = (digits * np.array([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])).sum(axis=1) % 11
    expected = np.where(check == 10, "X", check.astype(str))
    assert (np.array([x[14] for x in ids[:500]]) == expected).all()
    kind = pd.Series([x[6] for x in ids]).map({"1": "invention", "2": "utility_model", "3": "design"})
    assert (kind.to_numpy() == book["patents"]["right_type"].to_numpy()).all()


# --- determinism ----------------------------------------------------------------------------------
def test_same_seed_gives_identical_tables_and_files(tmp_path):
    a, b = generate_book(400, 5), generate_book(400, 5)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    write_book(a, tmp_path / "a", seed=5, n_firms=400)
    write_book(b, tmp_path / "b", seed=5, n_firms=400)
    for name in [*(f"{t}.parquet" for t in TABLES), "manifest.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_give_different_books():
    a, b = generate_book(400, 5), generate_book(400, 6)
    assert not a["firms"]["revenue"].equals(b["firms"]["revenue"])
    assert not a["patents"]["appraised_value"].head(50).reset_index(drop=True).equals(
        b["patents"]["appraised_value"].head(50).reset_index(drop=True))


def test_write_book_writes_atomically_with_a_manifest(tmp_path, book):
    small = generate_book(200, 1)
    path = write_book(small, tmp_path / "out", seed=1, n_firms=200)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted([*(f"{t}.parquet" for t in TABLES), "manifest.json"])  # no temp files left
    m = read_manifest(tmp_path / "out")
    assert path.name == "manifest.json" and m["seed"] == 1 and m["n_firms"] == 200
    assert m["row_counts"] == {t: len(small[t]) for t in TABLES}
    back = pd.read_parquet(tmp_path / "out" / "outcomes.parquet")
    assert list(back.columns) == list(small["outcomes"].columns) and len(back) == len(small["outcomes"])
    with pytest.raises(InputError, match="missing"):
        write_book({"firms": small["firms"]}, tmp_path / "bad")


def test_bad_inputs_raise_project_errors():
    with pytest.raises(InputError, match="n_firms"):
        generate_book(0, 1)
    with pytest.raises(ContractError, match="target_default_rate"):
        DemoBookConfig(target_default_rate=1.5)
    with pytest.raises(ContractError, match="ltv"):
        DemoBookConfig(ltv_min=0.6, ltv_max=0.5)


def test_config_from_settings_takes_the_shared_discount_rate(monkeypatch):
    assert load_demo_book_config() == DemoBookConfig()  # the yaml states the documented defaults
    monkeypatch.setenv("IPRISK__RECOVERY_ARITHMETIC__DISCOUNT_RATE", "0.1")
    monkeypatch.setenv("IPRISK__DEMO_BOOK__ASSET_CORRELATION", "0.02")
    cfg = load_demo_book_config()
    assert cfg.discount_rate == 0.1 and cfg.asset_correlation == 0.02


# --- structure ------------------------------------------------------------------------------------
def test_references_hold(book):
    firms, loans, patents, pledges = book["firms"], book["loans"], book["patents"], book["pledges"]
    assert loans["firm_id"].isin(firms["firm_id"]).all()
    assert firms["firm_id"].isin(loans["firm_id"]).all()  # every firm in the book borrowed
    assert pledges["patent_id"].isin(patents["patent_id"]).all() and pledges["loan_id"].isin(loans["loan_id"]).all()
    assert pledges["patent_id"].is_unique  # a patent secures one loan
    joined = pledges.merge(patents[["patent_id", "firm_id"]], on="patent_id").merge(
        loans[["loan_id", "firm_id"]], on="loan_id", suffixes=("_patent", "_loan"))
    assert (joined["firm_id_patent"] == joined["firm_id_loan"]).all()
    per_loan = pledges.groupby("loan_id").size().reindex(loans["loan_id"], fill_value=0)
    assert per_loan.between(1, 8).all()
    for name in ("outcomes", "ground_truth"):
        assert (book[name]["loan_id"].to_numpy() == loans["loan_id"].to_numpy()).all()


def test_loans_per_firm_and_origination_years(book):
    loans = book["loans"]
    per_firm = len(loans) / len(book["firms"])
    assert 1.1 < per_firm < 1.45
    years = loans["origination_date"].dt.year
    assert years.min() >= 2018 and years.max() <= 2024 and years.nunique() == 7
    # a firm's loans do not overlap, and none follows a default
    lv = loans.merge(book["outcomes"], on="loan_id").sort_values(["firm_id", "origination_date"])
    maturity = lv["origination_date"] + pd.to_timedelta(np.round(lv["term_months"] * 365.25 / 12), unit="D")
    nxt = lv.groupby("firm_id")["origination_date"].shift(-1)
    has_next = nxt.notna()
    assert (nxt[has_next] >= maturity[has_next]).all()
    assert not lv["defaulted"][has_next].any()


def test_date_orders(book, loan_view):
    pat = book["patents"].merge(book["pledges"], on="patent_id").merge(book["loans"], on="loan_id")
    g = pat["grant_date"].notna()
    assert (pat["filing_date"][g] <= pat["grant_date"][g]).all() and (pat["grant_date"][g] <= pat["expiry_date"][g]).all()
    assert (pat["filing_date"] <= pat["appraisal_date"]).all()
    assert (pat["appraisal_date"] <= pat["origination_date"]).all()
    assert (pat["expiry_date"] > pat["appraisal_date"]).all()
    assert (pat["grant_date"].isna() == (pat["legal_status"] == "pending")).all()
    years = (pat["expiry_date"].dt.year - pat["filing_date"].dt.year)
    statutory = pat["right_type"].map({"invention": 20, "utility_model": 10, "design": 15})
    old_design = (pat["right_type"] == "design") & (pat["filing_date"] < "2021-06-01")
    assert (years == statutory.where(~old_design, 10)).all()
    v = loan_view
    assert (v["founding_date"] < v["origination_date"]).all()
    d = v["defaulted"]
    maturity = v["origination_date"] + pd.to_timedelta(np.round(v["term_months"] * 365.25 / 12), unit="D")
    assert (v["origination_date"][d] < v["default_date"][d]).all() and (v["default_date"][d] <= maturity[d]).all()
    assert (v["recovery_date"][d] > v["default_date"][d]).all()


def test_claims_and_shares_are_consistent(book):
    p, loans = book["patents"], book["loans"]
    assert (p["independent_claims"] <= p["claims_count"]).all()
    assert (p["jurisdictions"] <= p["family_size"]).all()
    shares = loans[["guarantee_share", "insurance_share", "compensation_share"]].sum(axis=1)
    assert (shares <= DemoBookConfig().max_enhancement + 1e-9).all()
    assert (shares == 0).mean() > 0.3  # many loans carry no enhancement
    assert set(np.round(loans["compensation_share"].unique(), 4)) <= {0.0, 0.4, 0.5, 0.54, 0.6}
    pl = book["pledges"].merge(p[["patent_id", "appraised_value"]], on="patent_id").groupby("loan_id")["appraised_value"].sum()
    ltv = loans.set_index("loan_id")["amount"] / pl
    assert (ltv <= DemoBookConfig().ltv_max + 1e-9).all()
    assert (p["right_type"] == "invention").mean() > 0.4 and (p["legal_status"] == "granted").mean() > 0.9


# --- outcomes ---------------------------------------------------------------------------------------
def test_outcome_columns_are_null_exactly_for_non_defaulted_loans(book):
    o = book["outcomes"]
    d = o["defaulted"].to_numpy(bool)
    cols = ["default_date", "patents_sold", "sale_price", "recovery_date", "recovered_amount", "realised_lgd"]
    assert o.loc[~d, cols].isna().all().all()
    assert o.loc[d, cols].notna().all().all()
    sold = o.loc[d, "patents_sold"].astype(bool)
    assert (o.loc[d, "sale_price"][~sold] == 0).all() and (o.loc[d, "sale_price"][sold] > 0).all()


def test_default_rate_is_in_a_sane_band(book):
    rate = book["outcomes"]["defaulted"].mean()
    assert 0.03 <= rate <= 0.06
    assert abs(book["ground_truth"]["true_pd"].mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / len(book["loans"]))


def test_yearly_true_pd_does_not_drift(loan_view):
    by_year = loan_view.groupby(loan_view["origination_date"].dt.year)["true_pd"].mean()
    assert (by_year / by_year.mean()).between(0.85, 1.15).all()


def test_higher_true_pd_means_more_defaults(loan_view):
    decile = pd.qcut(loan_view["true_pd"], 10, labels=False)
    rates = loan_view.groupby(decile)["defaulted"].mean().to_numpy()
    assert stats.spearmanr(np.arange(10), rates).statistic > 0.85
    assert rates[-1] > 5 * max(rates[0], 1e-3)


def test_realised_lgd_uses_the_shared_arithmetic(loan_view):
    d = loan_view[loan_view["defaulted"]]
    years = (d["recovery_date"] - d["default_date"]).dt.days / 365.25
    lgd = loss_given_default(d["amount"], d["sale_price"], years, DemoBookConfig().discount_rate,
                             d["guarantee_share"], d["insurance_share"], d["compensation_share"])
    np.testing.assert_allclose(d["realised_lgd"], lgd, atol=1e-9)
    np.testing.assert_allclose(d["recovered_amount"], d["amount"] * (1 - d["realised_lgd"]), atol=0.01)
    assert d["realised_lgd"].between(0, 1).all()


def test_mean_realised_lgd_matches_true_expected_lgd(loan_view):
    d = loan_view[loan_view["defaulted"]]
    diff = d["realised_lgd"] - d["true_expected_lgd"]
    assert abs(diff.mean()) < 4 * diff.std() / np.sqrt(len(d)) + 1e-3


def test_expected_lgd_is_the_mean_of_the_disposal_model():
    """Closed form against brute-force Monte Carlo of the same disposal model."""
    cfg = DemoBookConfig()
    rng = np.random.default_rng(0)
    n, reps = 40, 40_000
    ead = rng.uniform(1e5, 1e7, n)
    value = ead * np.exp(rng.normal(0.5, 0.8, n))
    m = rng.uniform(0.1, 0.6, n)
    disp = Disposal(p_sold=rng.uniform(0.1, 0.7, n), a=m * 4.0, b=(1 - m) * 4.0)
    shares = rng.dirichlet([1, 1, 1, 3], n)[:, :3] * 0.9
    kept = 1 - shares.sum(axis=1)
    closed = expected_lgd(ead, value, disp, kept, cfg)
    sold = rng.random((reps, n)) < disp.p_sold
    x = rng.beta(disp.a, disp.b, (reps, n))
    t = cfg.recovery_years_min + (cfg.recovery_years_max - cfg.recovery_years_min) * rng.beta(*RECOVERY_BETA, (reps, n))
    mc = loss_given_default(ead, np.where(sold, x * value, 0.0), t, cfg.discount_rate, *shares.T).mean(axis=0)
    np.testing.assert_allclose(closed, mc, atol=0.006)


def test_pd_score_moves_in_the_contracts_risk_directions(book):
    """Raising a field the contract calls riskier must not lower the latent score (and vice versa)."""
    loans = book["loans"].head(300)
    x = loans.merge(book["firms"], on="firm_id")
    x["age_years"] = 5.0
    x["ltv"] = 0.3
    x["non_granted_share"] = 0.0
    base = pd_score(x)
    directions = {**load_contract("firms").risk_directions(), **load_contract("loans").risk_directions()}
    checked = 0
    for col, sign in directions.items():
        if col not in x.columns or col in ("guarantee_share", "insurance_share", "compensation_share"):
            continue
        bumped = x.copy()
        if x[col].dtype == bool:
            bumped[col] = True
            lower = x.copy()
            lower[col] = False
            delta = pd_score(bumped) - pd_score(lower)
        else:
            bumped[col] = x[col] + 0.5 * x[col].abs() + 0.1  # strictly larger, also for negatives
            delta = pd_score(bumped) - base
        assert (sign * delta >= -1e-12).all(), col
        checked += 1
    assert checked >= 15


def test_cli_writes_the_book(tmp_path):
    from typer.testing import CliRunner

    from cli.app import app
    from cli.main import _register_commands

    _register_commands()

    result = CliRunner().invoke(app, ["demo-data", "--firms", "300", "--seed", "2", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert read_manifest(tmp_path / "b")["row_counts"]["firms"] == 300
    assert "default rate" in result.output
