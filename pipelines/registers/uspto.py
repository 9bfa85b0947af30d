"""The USPTO daily patent-assignment file (``adYYYYMMDD.zip`` holding ``adYYYYMMDD.xml``, DTD
``us-patent-assignments`` embedded) into register events.

Parsing is safe: the XML is streamed through defusedxml with entity declarations forbidden (no
entity is ever expanded: a "billion laughs" bomb or an external entity is refused before anything
is read from it), external references forbidden, and a DOCTYPE that points at an external DTD
refused as well; only the embedded element declarations the USPTO ships are accepted. Nothing is
fetched from the network or the disk. The zip member is size-checked before it is opened (a zip
bomb is refused by its declared size and compression ratio) and read through a counting stream.

One event per recorded transaction (reel/frame) and patent property (document): the patent is
keyed by its application number (``US`` + number of the ``X0`` document id), with publication and
patent numbers beside it. A malformed record stops the run (see docs/data-scientist.md, "Bringing a
register file": a daily file is a delta of an official register, a skipped release would leave a
pledge that no longer exists).
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml
import defusedxml.ElementTree as DET
import pandas as pd

from data_contracts import InputError
from pipelines.registers.events import classify_conveyance, event_columns

SOURCE = "uspto-assignments"
ROOT_TAG = "us-patent-assignments"


class UnsafeXmlError(InputError):
    """An XML file uses a feature that could expand or fetch content (entities, external DTDs)."""


@dataclass(frozen=True)
class UsptoReadConfig:
    """Limits for reading an assignment file.

    - ``max_xml_bytes``: largest XML accepted (uncompressed), 2 GB — the USPTO's yearly backfile
      parts stay below it; a daily file is well under 10 MB.
    - ``max_compression_ratio``: largest uncompressed/compressed size of the zip member, 200 (the
      real daily file compresses about 12:1; zip bombs reach thousands).
    """

    max_xml_bytes: int = 2_000_000_000
    max_compression_ratio: float = 200.0


@dataclass
class UsptoRead:
    """Events (``patent_events`` columns) and what the file held."""

    events: pd.DataFrame
    source_file: str
    transactions: int
    documents: int
    conveyances: Counter = field(default_factory=Counter)
    transactions_by_event: Counter = field(default_factory=Counter)
    transaction_date: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source_file": self.source_file, "transactions": self.transactions, "documents": self.documents,
                "transaction_date": self.transaction_date,
                "transactions_by_event_type": dict(sorted(self.transactions_by_event.items())),
                "transactions_by_conveyance": dict(sorted(self.conveyances.items()))}


class _SafeParser(DET.DefusedXMLParser):
    """defusedxml's parser, also refusing a DOCTYPE with an external identifier (SYSTEM/PUBLIC)."""

    def __init__(self) -> None:
        super().__init__(target=TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True)
        self.parser.StartDoctypeDeclHandler = self._refuse_external_dtd

    @staticmethod
    def _refuse_external_dtd(name, sysid, pubid, has_internal_subset):
        if sysid or pubid:
            raise defusedxml.DTDForbidden(name, sysid, pubid)


class _CountingReader(io.RawIOBase):
    """A read-only stream that stops with `InputError` after ``limit`` bytes."""

    def __init__(self, raw: BinaryIO, limit: int, name: str):
        self.raw, self.limit, self.name, self.count = raw, limit, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.raw.read(len(b))
        self.count += len(data)
        if self.count > self.limit:
            raise InputError(f"{self.name}: more than {self.limit:,} bytes of XML (limit max_xml_bytes); refused")
        b[:len(data)] = data
        return len(data)


def _open_xml(path: Path, config: UsptoReadConfig) -> tuple[BinaryIO, str, Any]:
    """(stream of the XML, display name, object to close). A .zip must hold exactly one .xml member."""
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    if zipfile.is_zipfile(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise InputError(f"{path.name}: not a readable zip file: {e}") from e
        members = [i for i in zf.infolist() if not i.is_dir()]
        xml = [i for i in members if i.filename.lower().endswith(".xml")]
        if len(xml) != 1:
            zf.close()
            raise InputError(f"{path.name}: expected one .xml member in the zip, found {[i.filename for i in members][:5]}")
        info = xml[0]
        name = f"{path.name}!{info.filename}"
        if info.file_size > config.max_xml_bytes:
            zf.close()
            raise InputError(f"{name}: declares {info.file_size:,} bytes uncompressed (limit max_xml_bytes "
                             f"{config.max_xml_bytes:,}); refused")
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > config.max_compression_ratio:
            zf.close()
            raise InputError(f"{name}: compression ratio {ratio:.0f}:1 exceeds {config.max_compression_ratio:.0f}:1 "
                             "(possible zip bomb); refused")
        raw = zf.open(info)
        return io.BufferedReader(_CountingReader(raw, config.max_xml_bytes, name)), name, zf
    fh = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    return io.BufferedReader(_CountingReader(fh, config.max_xml_bytes, path.name)), path.name, fh


def _refusal(name: str, e: Exception) -> UnsafeXmlError:
    if isinstance(e, defusedxml.EntitiesForbidden):
        if e.sysid or e.pubid:
            what = f"external entity '{e.name}' ({'SYSTEM ' + e.sysid if e.sysid else 'PUBLIC ' + str(e.pubid)})"
            why = "an external entity would read a local file or a URL"
        else:
            what = f"entity declaration '{e.name}'"
            why = "entity expansion is refused (an entity that expands other entities is an XML bomb, e.g. billion laughs)"
        return UnsafeXmlError(f"{name}: refused: the XML declares {what}; {why}. Nothing was read from it")
    if isinstance(e, defusedxml.ExternalReferenceForbidden):
        return UnsafeXmlError(f"{name}: refused: the XML references external content ({e.sysid or e.pubid}); nothing was fetched")
    if isinstance(e, defusedxml.DTDForbidden):
        return UnsafeXmlError(f"{name}: refused: the DOCTYPE points at an external DTD "
                              f"({e.sysid or e.pubid}); only an embedded DTD is accepted and nothing was fetched")
    return UnsafeXmlError(f"{name}: refused: {type(e).__name__}: {e}")


def _records(stream: BinaryIO, name: str) -> Iterator[tuple[str, Element | str]]:
    """Yield ('date', transaction date) once and ('record', <patent-assignment> element) per record."""
    root_seen = False
    try:
        for event, el in DET.iterparse(stream, events=("start", "end"), parser=_SafeParser()):
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if el.tag != ROOT_TAG:
                        raise InputError(f"{name}: root element <{el.tag}> is not <{ROOT_TAG}>: not a USPTO assignment file")
                continue
            if el.tag == "transaction-date":
                yield "date", (el.findtext("date") or "").strip()
            elif el.tag == "patent-assignment":
                yield "record", el
                el.clear()
    except defusedxml.DefusedXmlException as e:
        raise _refusal(name, e) from e
    except ParseError as e:
        line, col = getattr(e, "position", (None, None))
        raise InputError(f"{name}: not well-formed XML at line {line}, column {col}: {e}") from e
    if not root_seen:
        raise InputError(f"{name}: no XML content")


def _date(text: str | None, where: str, field: str, *, required: bool) -> pd.Timestamp | None:
    t = (text or "").strip()
    if not t:
        if required:
            raise InputError(f"{where}: field '{field}': rule 'not_null' broken (no date)")
        return None
    try:
        return pd.Timestamp(datetime.strptime(t, "%Y%m%d"))
    except ValueError:
        raise InputError(f"{where}: field '{field}': rule 'type' broken: {t!r} is not a date YYYYMMDD") from None


def _names(parent: Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    names = [" ".join((p.findtext("name") or "").split()) for p in parent.findall(tag)]
    names = [n for n in names if n]
    return "; ".join(names) if names else None


def _record_events(el: Element, name: str, source_file: str) -> tuple[list[dict[str, Any]], str, str]:
    rec = el.find("assignment-record")
    if rec is None:
        raise InputError(f"{name}: a <patent-assignment> has no <assignment-record> (rule 'not_null')")
    reel, frame = (rec.findtext("reel-no") or "").strip(), (rec.findtext("frame-no") or "").strip()
    if not reel.isdigit() or not frame.isdigit():
        raise InputError(f"{name}: record reel {reel!r} frame {frame!r}: fields 'reel-no'/'frame-no': "
                         "rule 'type' broken (must be whole numbers)")
    rid = f"{int(reel):06d}/{int(frame):04d}"
    where = f"{name}: record {rid}"
    recorded = _date(rec.findtext("recorded-date/date"), where, "recorded-date", required=True)
    text = " ".join((rec.findtext("conveyance-text") or "").split())
    event_type, detail = classify_conveyance(text, where)
    assignors = el.find("patent-assignors")
    executed = [_date(a.findtext("execution-date/date"), where, "execution-date", required=False)
                for a in (assignors.findall("patent-assignor") if assignors is not None else [])]
    executed = [d for d in executed if d is not None]
    execution = max(executed) if executed else None
    from_parties = _names(assignors, "patent-assignor")
    to_parties = _names(el.find("patent-assignees"), "patent-assignee")
    props = el.findall("patent-properties/patent-property")
    if not props:
        raise InputError(f"{where}: field 'patent-properties': rule 'not_null' broken (no patent property)")
    rows: list[dict[str, Any]] = []
    for k, prop in enumerate(props, start=1):
        docs: dict[str, str] = {}
        for d in prop.findall("document-id"):
            number = (d.findtext("doc-number") or "").strip()
            kind = (d.findtext("kind") or "").strip().upper()
            country = (d.findtext("country") or "US").strip().upper() or "US"
            if number:
                docs.setdefault(kind, f"{country}|{number}")
        app = docs.get("X0")
        pub = next((docs[k2] for k2 in ("A1", "A2", "A9") if k2 in docs), None)
        pat = next((docs[k2] for k2 in docs if k2[:1] in ("B", "E", "S", "P") and k2 != "X0"), None)
        key = app or pat or pub
        if key is None:
            raise InputError(f"{where}: property {k}: field 'document-id': rule 'not_null' broken (no document number)")
        country, number = key.split("|", 1)
        patent_id = f"{country}{number}"
        title = " ".join("".join(prop.find("invention-title").itertext()).split()) if prop.find("invention-title") is not None else None
        rows.append({
            "event_id": f"{SOURCE}:{rid}:{patent_id}",
            "patent_id": patent_id,
            "jurisdiction": country,
            "application_number": app.split("|", 1)[1] if app else None,
            "publication_number": pub.split("|", 1)[1] if pub else None,
            "patent_number": pat.split("|", 1)[1] if pat else None,
            "event_type": event_type,
            "event_detail": detail,
            "event_date": recorded,
            "execution_date": execution,
            "source": SOURCE,
            "source_file": source_file,
            "source_record_id": rid,
            "conveyance_text": text or None,
            "from_parties": from_parties,
            "to_parties": to_parties,
            "title": title or None,
        })
    return rows, event_type, text


def read_uspto_assignments(path: str | Path, config: UsptoReadConfig | None = None) -> UsptoRead:
    """Parse a daily assignment file (.zip or .xml) safely into events; raises `UnsafeXmlError`
    for entity declarations or external references, `InputError` for anything malformed (naming the
    file, the record's reel/frame, the field and the rule)."""
    cfg = config or UsptoReadConfig()
    p = Path(path)
    stream, name, closer = _open_xml(p, cfg)
    rows: list[dict[str, Any]] = []
    conveyances: Counter = Counter()
    by_event: Counter = Counter()
    transactions = 0
    tdate = None
    try:
        for kind, item in _records(stream, name):
            if kind == "date":
                tdate = str(item) or None
                continue
            recs, event_type, text = _record_events(item, name, p.name)  # type: ignore[arg-type]
            rows.extend(recs)
            transactions += 1
            conveyances[text] += 1
            by_event[event_type] += 1
    finally:
        stream.close()
        closer.close()
    events = pd.DataFrame(rows, columns=list(event_columns()))
    return UsptoRead(events, p.name, transactions, len(events), conveyances, by_event, tdate)
