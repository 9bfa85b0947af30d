"""The cheaper decision paths give today's results exactly: vectorised reason codes against the
row-by-row rule (largest positive contributions, stop at the first that does not raise the PD),
and the counterfactual grid (only the amount's features redone) against re-featurising a copy per grid point."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from pipelines.batch_scoring import REASON_COLUMNS, chunks, score_tables

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("registry")]


@pytest.fixture(scope="module")
def part(trained):
    from pipelines.readers import read_book

    return next(chunks(read_book(trained["book"]), 400))


def _reasons_row_by_row(bundle, contrib: pd.DataFrame, X: pd.DataFrame, k: int) -> list[list[dict]]:
    names = [c for c in contrib.columns if c != "bias"]
    C, V = contrib[names].to_numpy(), X[names].to_numpy()
    margin = contrib.to_numpy().sum(axis=1)
    out = []
    for i in range(len(C)):
        rows = []
        for j in np.argsort(-C[i])[:k]:
            if not C[i, j] > 0:
                break
            rows.append({"feature": names[j], "description": bundle.descriptions_.get(names[j], names[j].replace("_", " ")),
                         "direction": "raises risk", "log_odds": float(C[i, j]),
                         "pd_points": float(expit(margin[i]) - expit(margin[i] - C[i, j])),
                         "value": None if np.isnan(V[i, j]) else float(V[i, j])})
        out.append(rows)
    return out


def test_vectorised_reasons_are_the_row_by_row_reasons(bundle, part):
    ev = bundle.evaluate(part, reasons=True)
    contrib = ev.contributions.copy()
    contrib.iloc[:5, :] = -np.abs(contrib.iloc[:5, :])  # rows where nothing raises the PD: no reasons
    for k in (1, 4, 9):
        expected = _reasons_row_by_row(bundle, contrib, ev.X, k)
        assert bundle.top_reasons(contrib, ev.X, k=k) == expected
    assert all(r == [] for r in bundle.top_reasons(contrib, ev.X, k=4)[:5])

    frame = score_tables(bundle, part)
    top = _reasons_row_by_row(bundle, ev.contributions, ev.X, REASON_COLUMNS)
    for j in range(REASON_COLUMNS):
        assert frame[f"reason_{j + 1}"].tolist() == [r[j]["feature"] if len(r) > j else None for r in top]
    assert frame["reasons"].tolist() == ["; ".join(f"{x['description']} (+{x['pd_points'] * 100:.2f} PD pts)" for x in r) for r in top]


def test_counterfactual_grid_equals_refeaturising_a_copy_per_grid_point(bundle, part):
    """The grid re-scores only the amount's features (FeatureBuilder.at_amounts); the answers equal
    the full construction: every loan and its pledges copied once per grid amount, re-featurised."""
    tables = next(chunks(part, 25))
    ev = bundle.evaluate(tables, reasons=True)
    got = bundle.counterfactuals(tables, ev)

    def full_copies(X, tabs, amounts, loans=None):
        n, g = amounts.shape
        loans = tabs["loans"].set_index("loan_id").reindex(X.index).reset_index()
        big = loans.loc[np.repeat(np.arange(n), g)].reset_index(drop=True)
        big["amount"] = amounts.ravel()
        big["loan_id"] = [f"{lid}#{j}" for lid in loans["loan_id"] for j in range(g)]
        pl = tabs["pledges"][tabs["pledges"]["loan_id"].isin(loans["loan_id"])]
        copies = pd.concat([pl.assign(loan_id=pl["loan_id"] + f"#{j}") for j in range(g)], ignore_index=True)
        return bundle.features(dict(tabs) | {"loans": big, "pledges": copies[["loan_id", "patent_id"]]}).reindex(big["loan_id"])

    slow = copy.copy(bundle)
    slow.feature_builder = copy.copy(bundle.feature_builder)
    slow.feature_builder.at_amounts = full_copies
    assert slow.counterfactuals(tables, ev) == got


def _edge_rows(sc, X: pd.DataFrame) -> pd.DataFrame:
    """The book's rows plus, per kept feature, values at, just below and just above every bin edge,
    ±inf and NaN (the other columns taken from the first row)."""
    rows = [X]
    for n in sc.features_:
        splits = np.asarray(sc.binning_process_.get_binned_variable(n).splits, float)
        vals = np.concatenate([splits, np.nextafter(splits, -np.inf), np.nextafter(splits, np.inf), [np.inf, -np.inf, np.nan, 0.0]])
        e = pd.concat([X.iloc[[0]]] * len(vals), ignore_index=True)
        e[n] = vals
        rows.append(e)
    return pd.concat(rows, ignore_index=True)


def test_scorecard_lookup_is_optbinnings_transform(bundle, part):
    from pipelines.registry import latest_version, load_wrapper

    sc = load_wrapper("iprisk-scorecard", latest_version("iprisk-scorecard"))[0].scorecard  # champion or not
    X = _edge_rows(sc, bundle.features(part)[list(sc.feature_names_)].reset_index(drop=True))
    assert sc._woe_lookup() is not None  # the fast path is the one in use for the demo models
    Xa = sc._aligned(X)
    slow = sc._woe(Xa)[sc.features_].to_numpy()
    np.testing.assert_array_equal(sc._kept_woe(Xa), slow)
    pts = pd.DataFrame({n: sc._points_of(n, slow[:, j]) for j, n in enumerate(sc.features_)}, index=X.index)
    pts["total"] = pts.sum(axis=1)
    pd.testing.assert_frame_equal(sc.points(X), pts, check_exact=True)
    coef = np.array([sc.coef_[n] for n in sc.features_])
    np.testing.assert_array_equal(sc.log_odds(X), sc.intercept_ + slow @ coef)


def test_collateral_from_the_feature_pass_is_collateral_table(bundle, part):
    for tables in (part, next(chunks(part, 1))):
        X, ind, _, _ = bundle.feature_builder.transform_with_pledges(tables)
        pd.testing.assert_frame_equal(X, bundle.features(tables), check_exact=True)
        by_ids = bundle.feature_builder.pledge_indicators(tables)
        pd.testing.assert_frame_equal(ind, by_ids.reset_index(drop=True), check_exact=True)  # same rows, by position
        coll = bundle.evaluate(tables).collateral  # plus the lapse column evaluate adds (docs/collateral.md §6)
        assert coll["in_force_probability"].between(0.0, 1.0).all()
        pd.testing.assert_frame_equal(coll.drop(columns="in_force_probability"), bundle.collateral_table(tables), check_exact=True)


def test_loan_limit_bisection_on_searched_rows_only_is_the_full_bisection(bundle, trained):
    from models.decision import max_loan_amount
    from pipelines.readers import read_book

    tables = read_book(trained["book"])
    ev = bundle.evaluate(tables, reasons=False)
    f, fn = ev.frame, ev.lgd_function
    assert fn.takes_rows
    args = (f["probability_of_default"].to_numpy(), f["appraised_value"].to_numpy(), f["ltv_cap"].to_numpy())
    fast = max_loan_amount(args[0], fn, *args[1:], bundle.policy.limits)
    full = max_loan_amount(args[0], lambda a: fn(a), *args[1:], bundle.policy.limits)  # no rows=: every loan each step
    assert {"el_rate", "expected_loss", "ltv"} <= set(full.binding)  # the book exercises the search
    np.testing.assert_array_equal(fast.amount, full.amount)
    assert fast.binding.tolist() == full.binding.tolist()
    np.testing.assert_array_equal(f["max_loan_amount"].to_numpy(), full.amount)
    rows = np.flatnonzero(full.binding == "el_rate")
    np.testing.assert_array_equal(fn(full.amount[rows], rows=rows), fn(full.amount)[rows])
