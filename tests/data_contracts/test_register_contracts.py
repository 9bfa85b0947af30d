"""The register contracts (cnipa_patents, patent_events): published names mapped by source_name,
date columns in the source's own format (strict, in every enforcer), the source format block, and
per-row reasons for quarantining."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import yaml

from data_contracts import ContractError, load_contract
from data_contracts.frames import coerce_with_issues
from data_contracts.validate import check_frame, check_record, row_verdicts, row_violations

PUBLISHED_HEADER = (
    "app_num,main_IPC,IPC,pub_date,pub_num,app_date,priority,Int_filing,Int_pub,entry_date,initial_app_num,tech_div,"
    "IPCcount,SingleIPC,IPCcount_unique,total_applicant,collaboration_applicant,type1_company,type2_university,"
    "type3_individual,total_inventers,collaboration_inventer,if_agency,total_agents,app_year,total_claims,paid_claims,"
    "patent_status_n,nation_province_code_2,Chinese,priority_d,divisional_app,substantive_review,app_withdraw,reject,"
    "recover,decision_made,grant,waive,terminate,pub_date_c,grant_c,reject_c,subrev_withdraw_dur,app_withdraw_c,"
    "pub_grant_dur,pub_reject_dur,substantive_review_c,event,event_date,start_end_dur,age_at_subreview,age_at_event"
).split(",")


def test_cnipa_contract_maps_every_published_column():
    c = load_contract("cnipa_patents")
    assert [col.source_name or col.name for col in c.columns] == PUBLISHED_HEADER
    assert c.source_format.encoding == "utf-8" and c.source_format.fallback_encoding == "gb18030"
    assert c.source_format.na_values == ("NA", "") and c.source_format.line_terminator == "crlf"
    assert {col.name for col in c.columns if col.format} == {"publication_date", "pct_national_entry_date"}
    months = [col for col in c.columns if col.unit == "months"]
    assert len(months) == 6 and all("derived" in col.description for col in months)


def test_patent_events_contract_closed_lists():
    c = load_contract("patent_events")
    types = set(c.column("event_type").allowed)
    assert {"pledge_registered", "pledge_released", "ownership_transferred", "licence_granted", "name_changed",
            "granted", "lapsed", "waived", "rejected", "withdrawn", "examination_started"} <= types
    assert c.primary_key == ("event_id",)


def _contract(tmp_path, **col):
    doc = {"table": "t", "version": "1.0.0", "kind": "byod", "description": "d",
           "columns": [{"name": "d", "type": "date", "description": "a date", **col}]}
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump(doc))
    return f


def test_format_only_on_date_columns(tmp_path):
    with pytest.raises(ContractError, match="'format' only fits date columns"):
        load_contract(_contract(tmp_path, type="number", format="%Y"))
    with pytest.raises(ContractError, match="no strftime directive"):
        load_contract(_contract(tmp_path, format="YYYY.MM.DD"))


def test_formatted_dates_are_strict_in_frames_records_and_rows(tmp_path):
    c = load_contract(_contract(tmp_path, format="%Y.%m.%d", nullable=True))
    df = pd.DataFrame({"d": ["2002.01.09", "2002-01-09", "2002.02.30", "NA", None]})
    typed, issues = coerce_with_issues(df, c)
    assert typed["d"].iloc[0] == pd.Timestamp("2002-01-09")
    assert issues["d"].positions == (1, 2)
    assert list(row_verdicts(df, c)) == [True, False, False, True, True]
    v = check_frame(df, c)
    assert [(x.column, x.rule, x.count) for x in v] == [("d", "type", 2)]
    assert check_record({"d": "2002.01.09"}, c) == [] and check_record({"d": datetime(2002, 1, 9)}, c) == []
    assert [x.rule for x in check_record({"d": "2002-01-09"}, c)] == ["type"]


def test_gx_agrees_on_formatted_dates(tmp_path, gx_runner):
    c = load_contract(_contract(tmp_path, format="%Y.%m.%d", nullable=True))
    df = pd.DataFrame({"d": ["2002.01.09", "2002-01-09", "09/01/2002", None, "2003.12.31"]})
    res = gx_runner.validate(df, c, table_rules=False)
    assert list(res.row_ok) == list(row_verdicts(df, c)) == [True, False, False, True, True]
    assert [(x.column, x.rule, x.count) for x in res.violations] == [(x.column, x.rule, x.count) for x in check_frame(df, c)]


def test_row_violations_name_row_column_rule_and_value():
    c = load_contract("patent_events")
    good = {"event_id": "a", "patent_id": "CN01122997.7", "jurisdiction": "CN", "event_type": "granted",
            "event_date": "2004-01-01", "source": "cnipa", "source_file": "f.csv", "source_record_id": "x"}
    df = pd.DataFrame([good, {**good, "event_id": "b", "event_type": "stolen"}, {**good, "patent_id": "bad id",
                                                                "execution_date": "2005-01-01"}])
    v = row_violations(df, c)
    got = {(r.position, r.column, r.rule, r.value) for r in v.itertuples(index=False)}
    assert (1, "event_type", "allowed", "stolen") in got
    assert (2, "patent_id", "pattern", "bad id") in got
    assert any(p == 2 and col == "execution_date,event_date" and rule == "date_order" for p, col, rule, _ in got)
    assert {(p, rule) for p, _, rule, _ in got if rule == "unique"} == {(0, "unique"), (2, "unique")}
    assert list(v["position"]) == sorted(v["position"])
