"""Register readers: decoding as published, the CNIPA table with quarantined rejects, the USPTO
assignment file parsed safely (malicious XML refused), conveyance mapping, and the ingest job
writing all or nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from data_contracts import InputError, load_contract
from data_contracts.validate import check_frame
from pipelines.readers import decode_lines, read_published
from pipelines.registers.cnipa import CnipaReadConfig, cnipa_events, read_cnipa
from pipelines.registers.events import classify_conveyance, event_types
from pipelines.registers.ingest import ingest_register
from pipelines.registers.uspto import UnsafeXmlError, read_uspto_assignments

sys.path.insert(0, str(Path(__file__).parent))
from register_files import (
    GRANTED,
    WITHDRAWN,
    assignment,
    assignments_xml,
    billion_laughs,
    cnipa_line,
    external_dtd,
    external_entity,
    write_cnipa,
    zip_bomb,
    zipped,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CNIPA = SHARED / "cnipa_patent_lapse" / "cn_invention_patents_1999_2002.csv"
USPTO = SHARED / "uspto_assignments" / "ad20160101.zip"


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------
def test_decode_lines_utf8_gb18030_mixed_and_line_endings():
    utf8 = "WO00/47240 英 2000.08.17\r\n".encode()
    gb = "WO00/66227 英 2000.11.09\r\n".encode("gb18030")  # D3 A2: valid UTF-8 too (Cyrillic Ӣ)
    assert gb.decode("utf-8")  # the trap the plausibility test must catch
    mixed = b"x," + b"\x8d\xae" + "组类型\n".encode()  # a stray legacy pair inside UTF-8
    text, rep = decode_lines(utf8 + gb + mixed + b"tail", "utf-8", "gb18030")
    lines = text.splitlines()
    assert lines[0] == "WO00/47240 英 2000.08.17" and lines[1] == "WO00/66227 英 2000.11.09"
    assert lines[2].startswith("x,") and lines[2].endswith("组类型") and "\ufffd" not in lines[2]
    assert rep.fallback_lines == (2,) and rep.mixed_lines == (3,) and rep.replaced == 0
    assert (rep.crlf, rep.lf, rep.lines) == (2, 1, 4)


def test_decode_lines_without_fallback_replaces_and_counts():
    text, rep = decode_lines(b"ok\n\xff\xfe bad\n", "utf-8", None)
    assert text.startswith("ok\n") and rep.replaced >= 1 and rep.mixed_lines == (2,)


# --------------------------------------------------------------------------------------------
# the CNIPA table
# --------------------------------------------------------------------------------------------
def test_tiny_cnipa_file_as_published(tmp_path):
    bad_date = {**WITHDRAWN, "app_num": "CN01100001.1", "pub_num": "CN1000001A", "pub_date": "2002-01-09", "total_claims": "abc"}
    ragged = cnipa_line({**WITHDRAWN, "app_num": "CN01100002.1"}) + ",extra"
    f = write_cnipa(tmp_path / "cnipa.csv", [WITHDRAWN, GRANTED, bad_date], [ragged], gb18030_in="CN00805398.7")
    assert f.read_bytes().count(b"\r\n") == 5 and "英".encode("gb18030") in f.read_bytes()
    r = read_cnipa(f, config=CnipaReadConfig(max_reject_share=0.5))
    t = r.table
    assert list(t["application_number"]) == ["CN01122997.7", "CN00805398.7"]
    g = t.set_index("application_number").loc["CN00805398.7"]
    assert g["pct_publication"] == "WO00/47240 英 2000.08.17"  # the GB18030 line decoded
    assert g["publication_date"] == pd.Timestamp("2002-04-10")  # YYYY.MM.DD
    assert g["pct_national_entry_date"] == pd.Timestamp("2001-09-21")
    assert g["filing_date"] == pd.Timestamp("2000-02-11")  # YYYY-MM-DD
    assert g["claims_count"] == 20 and bool(g["has_foreign_priority"]) is True
    w = t.set_index("application_number").loc["CN01122997.7"]
    assert pd.isna(w["priority_claims"]) and pd.isna(w["grant_date"])  # NA is missing, in text and date columns
    assert r.decoding.fallback_lines == (3,) and r.decoding.crlf == 5
    # rejects: the bad row names its line, its field and the rule; the ragged record its field count
    rej = r.rejects
    assert r.rows_read == 4 and r.rows_rejected == 2
    bad = rej[rej["application_number"] == "CN01100001.1"]
    assert set(zip(bad["column"], bad["rule"])) == {("publication_date", "type"), ("claims_count", "type")}
    assert set(bad["source_line"]) == {4} and "2002-01-09" in set(bad["value"])
    rag = rej[rej["rule"] == "field_count"]
    assert list(rag["source_line"]) == [5] and "54 fields" in rag["value"].iloc[0]


def test_cnipa_events_one_per_status_date(tmp_path):
    r = read_cnipa(write_cnipa(tmp_path / "c.csv", [WITHDRAWN, GRANTED]))
    ev = cnipa_events(r.table, "c.csv")
    assert check_frame(ev, load_contract("patent_events")) == []
    got = ev.groupby("patent_id")["event_type"].apply(list).to_dict()
    assert got["CN01122997.7"] == ["filed", "published", "examination_started", "withdrawn"]
    assert got["CN00805398.7"] == ["filed", "national_phase_entered", "published", "examination_started", "granted", "lapsed"]
    lapsed = ev[ev["event_type"] == "lapsed"].iloc[0]
    assert lapsed["event_date"] == pd.Timestamp("2009-01-07") and lapsed["source_record_id"] == "CN00805398.7/termination_date"


def test_too_many_bad_rows_stop_the_run(tmp_path):
    bad = [{**WITHDRAWN, "app_num": f"CN0110000{i}.1", "pub_num": f"CN100000{i}A", "event": "9"} for i in range(3)]
    f = write_cnipa(tmp_path / "c.csv", [WITHDRAWN, *bad])
    with pytest.raises(InputError) as e:
        read_cnipa(f)
    msg = str(e.value)
    assert "c.csv" in msg and "3 of 4 rows" in msg and "last_event: rule 'max'" in msg and "line 3" in msg


def test_header_missing_a_column_is_refused(tmp_path):
    f = write_cnipa(tmp_path / "c.csv", [WITHDRAWN])
    text = f.read_bytes().replace(b"total_claims", b"claims_total", 1)
    f.write_bytes(text)
    with pytest.raises(InputError, match=r"c\.csv: header lacks column\(s\) \['total_claims'\]"):
        read_cnipa(f)


@pytest.mark.skipif(not CNIPA.is_file(), reason="shared CNIPA data not present")
def test_real_cnipa_file():
    r = read_cnipa(CNIPA)
    assert (r.rows_read, len(r.table), r.rows_rejected) == (2650, 2646, 4)
    assert sorted(r.rejects["source_line"].unique()) == [1393, 1394, 1485, 2604]
    assert r.decoding.crlf == 2651 and r.decoding.mixed_lines == (1485,) and r.decoding.replaced == 0
    assert check_frame(r.table, load_contract("cnipa_patents")) == []
    ev = cnipa_events(r.table, CNIPA.name)
    counts = ev["event_type"].value_counts().to_dict()
    assert counts["granted"] == 1616 and counts["lapsed"] == 1174 and counts["waived"] == 76 and counts["rejected"] == 189


def test_read_published_keeps_text_and_missing_tokens(tmp_path):
    f = write_cnipa(tmp_path / "c.csv", [WITHDRAWN])
    pub = read_published(f, load_contract("cnipa_patents").source_format)
    row = pub.frame.iloc[0]
    assert row["priority"] is None and row["tech_div"] == "0" and pub.lines == (2,)


# --------------------------------------------------------------------------------------------
# conveyance texts → event types
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("ASSIGNMENT OF ASSIGNORS INTEREST (SEE DOCUMENT FOR DETAILS).", ("ownership_transferred", "assignment")),
    ("MERGER (SEE DOCUMENT FOR DETAILS).", ("ownership_transferred", "merger")),
    ("NUNC PRO TUNC ASSIGNMENT (SEE DOCUMENT FOR DETAILS).", ("ownership_transferred", "nunc_pro_tunc")),
    ("SECURITY INTEREST (SEE DOCUMENT FOR DETAILS).", ("pledge_registered", "security_interest")),
    ("RELEASE BY SECURED PARTY (SEE DOCUMENT FOR DETAILS).", ("pledge_released", "release")),
    ("CHANGE OF NAME (SEE DOCUMENT FOR DETAILS).", ("name_changed", "change_of_name")),
    ("LICENSE (SEE DOCUMENT FOR DETAILS).", ("licence_granted", "licence")),
    ("PATENT SECURITY AGREEMENT", ("pledge_registered", "security_interest")),
    ("TERMINATION AND RELEASE OF SECURITY INTEREST IN PATENTS", ("pledge_released", "release")),
    ("EXCLUSIVE LICENSE", ("licence_granted", "licence")),
    ("CORRECTIVE ASSIGNMENT TO CORRECT THE ASSIGNEE NAME PREVIOUSLY RECORDED ON REEL 1 FRAME 2", ("ownership_transferred", "corrective_assignment")),
    ("  security   interest  ", ("pledge_registered", "security_interest")),
])
def test_conveyance_mapping(text, expected):
    assert classify_conveyance(text) == expected
    assert expected[0] in event_types()


def test_unknown_conveyance_names_the_record():
    with pytest.raises(InputError, match=r"f\.xml: record 000001/0001: field 'conveyance-text': rule 'allowed'.*'COURT ORDER'"):
        classify_conveyance("COURT ORDER", "f.xml: record 000001/0001")


# --------------------------------------------------------------------------------------------
# the USPTO assignment file
# --------------------------------------------------------------------------------------------
@pytest.mark.skipif(not USPTO.is_file(), reason="shared USPTO data not present")
def test_real_uspto_file_counts():
    r = read_uspto_assignments(USPTO)
    assert (r.transactions, r.documents, len(r.events)) == (199, 578, 578)
    conv = {k.split(" (")[0]: v for k, v in r.conveyances.items()}
    assert conv == {"ASSIGNMENT OF ASSIGNORS INTEREST": 140, "MERGER": 35, "SECURITY INTEREST": 13,
                    "RELEASE BY SECURED PARTY": 7, "NUNC PRO TUNC ASSIGNMENT": 2, "CHANGE OF NAME": 1, "LICENSE": 1}
    assert dict(r.transactions_by_event) == {"ownership_transferred": 177, "pledge_registered": 13, "pledge_released": 7,
                                             "name_changed": 1, "licence_granted": 1}
    assert r.events["source_record_id"].nunique() == 199
    assert check_frame(r.events, load_contract("patent_events")) == []
    first = r.events.iloc[0]
    assert (first["patent_id"], first["source_record_id"], first["patent_number"]) == ("US14678893", "037388/0092", "9219817")
    assert first["from_parties"].startswith("WEINSTEIN, DAMON; ") and first["to_parties"] == "SOUNDBITE COMMUNICATIONS, INC."


def test_small_assignment_file_zip_and_xml(tmp_path):
    recs = [assignment(40000, 12, "SECURITY INTEREST (SEE DOCUMENT FOR DETAILS).",
                       [("US", "14000001", "X0"), ("US", "20150000001", "A1"), ("US", "9000001", "B2")],
                       assignors=("WIDGET CO.",), assignees=("BANK A", "BANK B")),
            assignment(40000, 15, "RELEASE BY SECURED PARTY", [("US", "14000002", "X0")])]
    xml = assignments_xml(recs)
    for f in (zipped(tmp_path / "ad.zip", xml), tmp_path / "ad.xml"):
        if f.suffix == ".xml":
            f.write_text(xml, encoding="utf-8")
        r = read_uspto_assignments(f)
        e = r.events
        assert list(e["event_type"]) == ["pledge_registered", "pledge_released"]
        assert list(e["source_record_id"]) == ["040000/0012", "040000/0015"]
        assert e["to_parties"].iloc[0] == "BANK A; BANK B" and e["from_parties"].iloc[0] == "WIDGET CO."
        assert e["publication_number"].iloc[0] == "20150000001" and e["event_date"].iloc[0] == pd.Timestamp("2015-12-30")


@pytest.mark.parametrize("make, reason", [
    (billion_laughs, "entity declaration 'lol0'"),
    (external_entity, "external entity 'xxe' (SYSTEM file:///etc/passwd)"),
    (external_dtd, "DOCTYPE points at an external DTD (http://example.invalid/assignments.dtd)"),
])
@pytest.mark.parametrize("as_zip", [False, True])
def test_malicious_xml_is_refused_naming_file_and_reason(tmp_path, make, reason, as_zip):
    xml = make()
    f = zipped(tmp_path / "evil.zip", xml) if as_zip else tmp_path / "evil.xml"
    if not as_zip:
        f.write_text(xml, encoding="utf-8")
    with pytest.raises(UnsafeXmlError) as e:
        read_uspto_assignments(f)
    msg = str(e.value)
    assert f.name in msg and "refused" in msg and reason in msg


def test_zip_bomb_is_refused_by_its_declared_ratio(tmp_path):
    with pytest.raises(InputError, match=r"bomb\.zip!ad20160101\.xml: compression ratio \d+:1 exceeds 200:1"):
        read_uspto_assignments(zip_bomb(tmp_path / "bomb.zip"))


def test_malformed_and_foreign_xml(tmp_path):
    f = tmp_path / "broken.xml"
    f.write_text(assignments_xml([assignment(1, 1, "MERGER", [("US", "14000001", "X0")])])[:-40], encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.xml: not well-formed XML at line \d+, column \d+"):
        read_uspto_assignments(f)
    g = tmp_path / "other.xml"
    g.write_text("<?xml version='1.0'?><rss><channel/></rss>", encoding="utf-8")
    with pytest.raises(InputError, match=r"other\.xml: root element <rss>"):
        read_uspto_assignments(g)


def test_bad_record_stops_the_run_naming_record_field_and_rule(tmp_path):
    recs = [assignment(5, 7, "MERGER", [("US", "14000001", "X0")], recorded="2015-12-30")]
    f = tmp_path / "bad.xml"
    f.write_text(assignments_xml(recs), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.xml: record 000005/0007: field 'recorded-date': rule 'type'"):
        read_uspto_assignments(f)


# --------------------------------------------------------------------------------------------
# the ingest job
# --------------------------------------------------------------------------------------------
def test_ingest_writes_tables_rejects_and_summary(tmp_path):
    bad = {**WITHDRAWN, "app_num": "CN01100001.1", "pub_num": "CN1000001A", "pub_date": "2002-01-09"}
    f = write_cnipa(tmp_path / "c.csv", [WITHDRAWN, GRANTED, *[{**GRANTED, "app_num": f"CN009053{i:02d}.7"} for i in range(20)], bad])
    out = tmp_path / "out"
    res = ingest_register(f, "cnipa", out)
    assert sorted(p.name for p in out.iterdir()) == ["cnipa_patents.parquet", "ingest_summary.json", "patent_events.parquet", "rejects.csv"]
    assert len(pd.read_parquet(out / "cnipa_patents.parquet")) == 22
    rej = pd.read_csv(out / "rejects.csv")
    assert list(rej["source_line"]) == [24] and "publication_date: type (2002-01-09)" in rej["reasons"].iloc[0]
    doc = json.loads((out / "ingest_summary.json").read_text())
    assert doc["rows_rejected"] == 1 and doc["event_counts"]["granted"] == 21 and res.rows_rejected == 1
    # same format again, now clean: the stale rejects file goes
    ingest_register(write_cnipa(tmp_path / "d.csv", [WITHDRAWN]), "cnipa", out)
    assert not (out / "rejects.csv").exists() and len(pd.read_parquet(out / "cnipa_patents.parquet")) == 1


def test_ingest_is_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    evil = tmp_path / "evil.xml"
    evil.write_text(billion_laughs(), encoding="utf-8")
    with pytest.raises(UnsafeXmlError):
        ingest_register(evil, "uspto-assignments", out)
    assert not out.exists() or not any(out.iterdir())
    good = tmp_path / "good.xml"
    good.write_text(assignments_xml([assignment(1, 1, "MERGER", [("US", "14000001", "X0")])]), encoding="utf-8")
    ingest_register(good, "uspto-assignments", out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    bad = tmp_path / "bad.xml"
    bad.write_text(assignments_xml([assignment(1, 1, "MERGER", [("US", "14000001", "X0")]),
                                    assignment(1, 2, "COURT ORDER", [("US", "14000002", "X0")])]), encoding="utf-8")
    with pytest.raises(InputError, match="COURT ORDER"):
        ingest_register(bad, "uspto-assignments", out)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # untouched, no staging left
    with pytest.raises(InputError, match="holds an ingest of format 'uspto-assignments'"):
        ingest_register(write_cnipa(tmp_path / "c.csv", [WITHDRAWN]), "cnipa", out)
