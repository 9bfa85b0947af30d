"""Indicators as of the loan's origination: dated citations and legal events after it change nothing,
events before it do, and the citation features are stable between training and test years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import FeatureBuilder
from models import metrics as M
from pipelines.readers import read_book
from pipelines.training.splits import TrainConfig, subset_book, year_split


@pytest.fixture(scope="module")
def book(small_book):
    return read_book(small_book)


@pytest.fixture(scope="module")
def builder(book):
    return FeatureBuilder().fit(book)


def _origination_of_patent(book) -> pd.Series:
    loans = book["loans"].set_index("loan_id")["origination_date"]
    return book["pledges"].assign(orig=lambda d: loans.reindex(d["loan_id"]).to_numpy()).groupby("patent_id")["orig"].min()


def test_the_demo_book_records_events_after_origination(book):
    orig = _origination_of_patent(book)
    for table, col in (("patent_citations", "citation_date"), ("patent_legal_events", "event_date")):
        t = book[table]
        later = (t[col] >= orig.reindex(t["patent_id"]).to_numpy()).mean()
        assert 0.05 < later < 0.95, (table, later)  # the invariance below is not vacuous


def test_no_feature_depends_on_an_event_dated_on_or_after_origination(book, builder):
    X = builder.transform(book)
    orig = _origination_of_patent(book)
    changed = dict(book)
    rng = np.random.default_rng(0)
    for table, col in (("patent_citations", "citation_date"), ("patent_legal_events", "event_date")):
        t = book[table]
        before = t[t[col] < orig.reindex(t["patent_id"]).to_numpy()]
        # drop every later event, then add a burst of invented ones dated from origination onwards
        extra = t.sample(n=len(t), replace=True, random_state=1).copy()
        start = orig.reindex(extra["patent_id"]).to_numpy()
        extra[col] = (start + pd.to_timedelta(rng.integers(0, 3000, len(extra)), unit="D")).astype(t[col].dtype)
        changed[table] = pd.concat([before, extra], ignore_index=True)
    pd.testing.assert_frame_equal(builder.transform(changed), X)
    # without any event table, the same loans get the patents table's counts instead (a fallback, not the same numbers)
    no_events = {k: v for k, v in book.items() if k not in ("patent_citations", "patent_legal_events")}
    assert not builder.transform(no_events)["pledged_forward_citations_norm_max"].equals(X["pledged_forward_citations_norm_max"])


def test_events_dated_before_origination_do_count(book, builder):
    X = builder.transform(book)
    ind = builder.pledge_indicators(book).reset_index()
    young = ind[(ind["age_years"] < 4.0) & (ind["is_valid"] == 1)]  # citations 10 days before origination are inside the 5-year window
    young = young[young["loan_id"].isin(X.index[X["pledged_is_valid_min"] == 1])]
    loan, pledged = young["loan_id"].iloc[0], young["patent_id"].iloc[0]
    day = book["loans"].set_index("loan_id").loc[loan, "origination_date"] - pd.Timedelta(days=10)
    changed = dict(book)
    cit = book["patent_citations"]
    changed["patent_citations"] = pd.concat(
        [cit, pd.DataFrame({"patent_id": [pledged] * 5, "citation_date": [day] * 5, "self_citation": [False] * 5}).astype(cit.dtypes)],
        ignore_index=True)
    leg = book["patent_legal_events"]
    changed["patent_legal_events"] = pd.concat(
        [leg, pd.DataFrame({"patent_id": [pledged, pledged], "event_type": ["litigation_filed", "lapsed"], "event_date": [day, day]}).astype(leg.dtypes)],
        ignore_index=True)
    Y = builder.transform(changed)
    assert Y.loc[loan, "pledged_is_valid_min"] == 0
    assert Y.loc[loan, "pledged_litigation_count_max"] > X.loc[loan, "pledged_litigation_count_max"]
    assert Y.loc[loan, "pledged_forward_citations_norm_max"] > X.loc[loan, "pledged_forward_citations_norm_max"]
    other = X.index != loan
    pd.testing.assert_frame_equal(Y[other], X[other])


def test_citation_features_are_stable_between_training_and_test_years(book):
    loans = book["loans"]
    train, valid, test, _ = year_split(loans, TrainConfig())
    b = FeatureBuilder().fit(subset_book(book, pd.Index(loans.loc[train | valid, "loan_id"])))
    X = b.transform(book).reindex(loans["loan_id"])
    fit, te = (train | valid), test
    psi = {c: M.psi(X[c].to_numpy()[fit], X[c].to_numpy()[te], bins=10) for c in X.columns if "citation" in c}
    assert len(psi) >= 4
    assert max(psi.values()) < 0.10, psi
