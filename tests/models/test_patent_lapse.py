"""The survival sample and the indicators at grant from the CNIPA table: who is in the sample, how
time and censoring are set, and no look-ahead (outcome columns never move an indicator)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts import InputError, load_contract
from data_contracts.frames import coerce_frame
from models.collateral import SCORED_COLUMNS, patent_value_scores
from models.patent_lapse import (
    INDICATOR_NAMES,
    grant_indicators,
    lapse_sample,
    value_indicators,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))
from register_files import GRANTED, WITHDRAWN


def table(*rows: dict[str, str]) -> pd.DataFrame:
    raw = pd.DataFrame([{k: (None if v == "NA" else v) for k, v in r.items()} for r in rows])
    return coerce_frame(raw, load_contract("cnipa_patents"))


IN_FORCE = {**GRANTED, "app_num": "CN00800001.1", "terminate": "NA", "patent_status_n": "1", "grant": "2005-03-02"}
RESTORED = {**GRANTED, "app_num": "CN00800002.1", "terminate": "2009-01-07", "recover": "2010-02-24", "patent_status_n": "1"}
AT_TERM = {**GRANTED, "app_num": "CN00800003.1", "app_date": "1994-04-28", "terminate": "2014-07-02", "is_divisional": "1",
           "divisional_app": "1"}
WAIVED = {**GRANTED, "app_num": "CN00800004.1", "grant": "NA", "terminate": "NA", "waive": "2004-11-01"}
ENDED_NO_DATE = {**GRANTED, "app_num": "CN00800005.1", "terminate": "NA", "patent_status_n": "2"}


def test_sample_times_events_and_exclusions():
    s = lapse_sample(table(WITHDRAWN, GRANTED, IN_FORCE, RESTORED, AT_TERM, WAIVED, ENDED_NO_DATE))
    f = s.frame
    assert list(f.index) == ["CN00805398.7", "CN00800001.1", "CN00800002.1", "CN00800003.1"]
    lapsed = f["lapsed"].to_dict()
    assert lapsed == {"CN00805398.7": True, "CN00800001.1": False, "CN00800002.1": False, "CN00800003.1": False}
    assert f.loc["CN00805398.7", "time_years"] == pytest.approx((pd.Timestamp("2009-01-07") - pd.Timestamp("2004-09-01")).days / 365.25)
    assert f.loc["CN00800001.1", "end_date"] == pd.Timestamp("2017-12-31")  # censored at the snapshot
    assert f.loc["CN00800002.1", "end_date"] == pd.Timestamp("2017-12-31")  # restored: in force again
    assert f.loc["CN00800003.1", "end_date"] == pd.Timestamp("2014-04-28")  # the 20-year term: censored there
    assert s.excluded == {"not_granted": 2, "waived_at_grant": 1, "ended_without_date": 1, "granted_after_snapshot": 0,
                          "terminated_at_term_censored": 1}
    assert (s.n, s.events) == (4, 1)


def test_indicators_are_known_at_grant_no_look_ahead():
    base = table(GRANTED, IN_FORCE)
    X = grant_indicators(base)
    assert list(X.columns) == list(INDICATOR_NAMES) and X.dtypes.eq(np.float64).all()
    g = X.loc["CN00805398.7"]
    assert g["log_claims"] == pytest.approx(np.log(21)) and g["pct"] == 1 and g["priority_count"] == 2
    assert g["foreign_company"] == 1 and g["origin_us"] == 1 and g["domestic_applicant"] == 0
    assert g["grant_lag_years"] == pytest.approx((pd.Timestamp("2004-09-01") - pd.Timestamp("2000-02-11")).days / 365.25)
    assert g["remaining_term_years"] == pytest.approx(20 - g["grant_lag_years"], abs=0.01)
    assert g["publication_lag_years"] == pytest.approx((pd.Timestamp("2002-04-10") - pd.Timestamp("2000-02-11")).days / 365.25)
    # outcomes and the author's derived durations change, the indicators do not
    later = base.copy()
    later["termination_date"] = pd.Timestamp("2016-01-01")
    later["restoration_date"] = pd.Timestamp("2016-06-01")
    later["status_at_snapshot"] = 3
    for c in ("examination_to_event_months", "filing_to_event_months", "publication_to_grant_months", "last_event"):
        later[c] = 99
    pd.testing.assert_frame_equal(grant_indicators(later), X)
    pd.testing.assert_frame_equal(value_indicators(later), value_indicators(base))


def test_value_indicators_feed_the_expert_score():
    V = value_indicators(table(GRANTED, IN_FORCE))
    assert set(SCORED_COLUMNS) <= set(V.columns)
    g = V.loc["CN00805398.7"]
    assert (g["family_size"], g["jurisdictions"], g["co_owners"], g["claims_count"]) == (3.0, 2.0, 0.0, 20.0)
    assert np.isnan(g["forward_citations_norm"]) and np.isnan(g["appraised_value"])
    s = patent_value_scores(V)
    assert s["economic_score"].eq(0).all() and s["value_score"].between(0, 65).all()


def test_missing_columns_are_named():
    with pytest.raises(InputError, match=r"cnipa_patents: table lacks column\(s\) \['grant_date'\]"):
        lapse_sample(table(GRANTED).drop(columns=["grant_date"]))
