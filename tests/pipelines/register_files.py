"""Register files for tests, built in tmp_path: a tiny CNIPA CSV as published (CRLF lines, a
GB18030-encoded character, ``NA`` for missing, both date formats) and USPTO assignment XML files,
well-formed or malicious (billion laughs, external entities, external DTD, zip bomb)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from data_contracts import load_contract

# A withdrawn application (first row of the real file) and a granted, lapsed PCT filing.
WITHDRAWN = {
    "app_num": "CN01122997.7", "main_IPC": "A24B3/14", "IPC": "A24B3/14", "pub_date": "2002.01.09", "pub_num": "CN1329855A",
    "app_date": "2001-07-31", "priority": "NA", "Int_filing": "NA", "Int_pub": "NA", "entry_date": "NA",
    "initial_app_num": "0", "tech_div": "0", "IPCcount": "1", "SingleIPC": "1", "IPCcount_unique": "1",
    "total_applicant": "1", "collaboration_applicant": "0", "type1_company": "0", "type2_university": "0",
    "type3_individual": "1", "total_inventers": "5", "collaboration_inventer": "1", "if_agency": "1", "total_agents": "1",
    "app_year": "2001", "total_claims": "5", "paid_claims": "0", "patent_status_n": "2", "nation_province_code_2": "13",
    "Chinese": "1", "priority_d": "0", "divisional_app": "0", "substantive_review": "2004-03-03",
    "app_withdraw": "2005-06-15", "reject": "NA", "recover": "NA", "decision_made": "NA", "grant": "NA", "waive": "NA",
    "terminate": "NA", "pub_date_c": "2002-01-09", "grant_c": "NA", "reject_c": "NA", "subrev_withdraw_dur": "15.41917808",
    "app_withdraw_c": "2005-06-15", "pub_grant_dur": "NA", "pub_reject_dur": "NA", "substantive_review_c": "2004-03-03",
    "event": "1", "event_date": "2005-06-15", "start_end_dur": "15.41917808", "age_at_subreview": "31.10136986",
    "age_at_event": "46.52054795",
}
GRANTED = {
    **WITHDRAWN, "app_num": "CN00805398.7", "main_IPC": "A61L2/08", "IPC": "A61L2/08;A61L2/10", "pub_date": "2002.04.10",
    "pub_num": "CN1344170A", "app_date": "2000-02-11", "priority": "1999.02.13 US 60/120,034;1999.06.09 US 09/329,018",
    "Int_filing": "PCT/US00/03546 2000.02.11", "Int_pub": "WO00/47240 英 2000.08.17", "entry_date": "2001.09.21",
    "IPCcount": "2", "SingleIPC": "0", "type1_company": "1", "type3_individual": "0", "total_inventers": "6",
    "total_claims": "20", "paid_claims": "1", "nation_province_code_2": "US", "Chinese": "0", "priority_d": "1",
    "substantive_review": "2002-05-15", "app_withdraw": "NA", "grant": "2004-09-01", "terminate": "2009-01-07",
    "grant_c": "2004-09-01", "subrev_withdraw_dur": "NA", "app_withdraw_c": "NA", "pub_grant_dur": "28.7",
    "substantive_review_c": "2002-05-15", "event": "3", "event_date": "2004-09-01", "start_end_dur": "27.6",
    "age_at_subreview": "27.09041096", "age_at_event": "54.7",
}


def header() -> list[str]:
    return [c.source_name or c.name for c in load_contract("cnipa_patents").columns]


def cnipa_line(row: dict[str, str]) -> str:
    cols = header()
    out = []
    for c in cols:
        v = row[c]
        out.append(f'"{v}"' if "," in v else v)
    return ",".join(out)


def write_cnipa(path: Path, rows: list[dict[str, str]], extra_lines: list[str] = (), *, gb18030_in: str | None = None) -> Path:
    """Header + rows as CRLF lines, UTF-8; the line of application ``gb18030_in`` is encoded in GB18030
    (its 英 becomes the bytes D3 A2, which UTF-8 would read as Cyrillic)."""
    data = b""
    for line in [",".join(header()), *(cnipa_line(r) for r in rows), *extra_lines]:
        enc = "gb18030" if gb18030_in and line.startswith(gb18030_in + ",") else "utf-8"
        data += line.encode(enc) + b"\r\n"
    path.write_bytes(data)
    return path


DTD = """<!DOCTYPE us-patent-assignments [
<!ELEMENT us-patent-assignments (action-key-code, transaction-date, patent-assignments)>
<!ELEMENT patent-assignment (assignment-record, patent-assignors, patent-assignees, patent-properties)>
<!ATTLIST name name-type (natural | legal)  #IMPLIED>
]>"""


def assignment(reel: int, frame: int, conveyance: str, docs: list[tuple[str, str, str]], *, recorded: str = "20151230",
               assignors: tuple[str, ...] = ("DOE, JANE",), assignees: tuple[str, ...] = ("ACME BANK",)) -> str:
    a = "".join(f"<patent-assignor><name>{n}</name><execution-date><date>20151201</date></execution-date></patent-assignor>"
                for n in assignors)
    b = "".join(f"<patent-assignee><name>{n}</name><city>NEW YORK</city></patent-assignee>" for n in assignees)
    d = "".join(f"<document-id><country>{c}</country><doc-number>{num}</doc-number><kind>{k}</kind></document-id>"
                for c, num, k in docs)
    return (f"<patent-assignment><assignment-record><reel-no>{reel}</reel-no><frame-no>{frame}</frame-no>"
            f"<last-update-date><date>20160101</date></last-update-date><purge-indicator>N</purge-indicator>"
            f"<recorded-date><date>{recorded}</date></recorded-date><correspondent><name>X</name></correspondent>"
            f"<conveyance-text>{conveyance}</conveyance-text></assignment-record>"
            f"<patent-assignors>{a}</patent-assignors><patent-assignees>{b}</patent-assignees>"
            f"<patent-properties><patent-property>{d}<invention-title lang=\"en\">Widget</invention-title>"
            f"</patent-property></patent-properties></patent-assignment>")


def assignments_xml(records: list[str], doctype: str = DTD, prolog_extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n{prolog_extra}'
            f'<us-patent-assignments dtd-version="1.0"><action-key-code>DA</action-key-code>'
            f"<transaction-date><date>20160101</date></transaction-date><patent-assignments>"
            + "".join(records) + "</patent-assignments></us-patent-assignments>\n")


def billion_laughs(levels: int = 10) -> str:
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    doctype = "<!DOCTYPE us-patent-assignments [\n" + "\n".join(ents) + "\n]>"
    rec = assignment(1, 1, f"&lol{levels - 1};", [("US", "14678893", "X0")])
    return assignments_xml([rec], doctype)


def external_entity(target: str = "file:///etc/passwd") -> str:
    doctype = f'<!DOCTYPE us-patent-assignments [\n<!ENTITY xxe SYSTEM "{target}">\n]>'
    rec = assignment(1, 1, "&xxe;", [("US", "14678893", "X0")])
    return assignments_xml([rec], doctype)


def external_dtd(url: str = "http://example.invalid/assignments.dtd") -> str:
    return assignments_xml([assignment(1, 1, "ASSIGNMENT OF ASSIGNORS INTEREST", [("US", "14678893", "X0")])],
                           f'<!DOCTYPE us-patent-assignments SYSTEM "{url}">')


def zipped(path: Path, xml: str | bytes, member: str = "ad20160101.xml") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, xml.encode("utf-8") if isinstance(xml, str) else xml)
    return path


def zip_bomb(path: Path, megabytes: int = 50) -> Path:
    """A zip whose one member is ``megabytes`` of zeros (ratio about 1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("ad20160101.xml", "w") as fh:
        chunk = b"\0" * (1 << 20)
        for _ in range(megabytes):
            fh.write(chunk)
    path.write_bytes(buf.getvalue())
    return path
