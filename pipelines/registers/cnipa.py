"""The CNIPA invention-patent table as published (CSV) into ``cnipa_patents`` and register events.

Reading follows the contract (`data_contracts/cnipa_patents.yaml`): its ``source_format`` says
how the file is written (CRLF lines, UTF-8 with a few bytes in GB18030, ``NA`` for missing) and
each column's ``source_name`` maps the published header to the contract's names; date columns
with a ``format`` (``pub_date``, ``entry_date``: ``YYYY.MM.DD``) are parsed strictly in it.

Bad rows are **quarantined**: every row that breaks a row-level rule of the contract (or has the
wrong number of fields, or shares its application number with another row) is left out of the
table and written to the rejects file with one line per broken rule (source line, application
number as read, column, rule, offending value) and the raw record. The run stops instead when more
than ``max_reject_share`` of the rows are bad: then the file is probably not in the published
format at all. Why quarantine here: each row is an independent application (a snapshot, not a
delta), so leaving one out changes nothing about the others, and it is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import Contract, InputError, load_contract
from data_contracts.frames import coerce_frame
from data_contracts.validate import row_violations
from pipelines.readers import DecodeReport, read_published
from pipelines.registers.events import event_columns

SOURCE = "cnipa"
TABLE = "cnipa_patents"
REJECT_COLUMNS = ("source_line", "record", "application_number", "column", "rule", "value", "raw_record")

# contract date column -> event type (one event per non-empty date)
LEGAL_STATUS_EVENTS: tuple[tuple[str, str], ...] = (
    ("filing_date", "filed"),
    ("publication_date", "published"),
    ("pct_national_entry_date", "national_phase_entered"),
    ("examination_date", "examination_started"),
    ("grant_date", "granted"),
    ("rejection_date", "rejected"),
    ("withdrawal_date", "withdrawn"),
    ("waiver_date", "waived"),
    ("termination_date", "lapsed"),
    ("restoration_date", "restored"),
)


@dataclass(frozen=True)
class CnipaReadConfig:
    """``max_reject_share``: the largest share of bad rows quarantined; above it the run stops
    (5%: the published file has 4 bad rows in 2,650, 0.15%)."""

    max_reject_share: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_reject_share <= 1.0:
            raise InputError(f"cnipa reader: max_reject_share={self.max_reject_share!r} must be in [0, 1]")


@dataclass
class CnipaRead:
    """The valid rows (contract names and types), the rejects (one line per broken rule), how the
    file was decoded, and the row counts."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    decoding: DecodeReport
    source_file: str
    rows_read: int

    @property
    def rows_rejected(self) -> int:
        return int(self.rejects["record"].nunique()) if len(self.rejects) else 0

    def as_dict(self) -> dict[str, Any]:
        reasons = (self.rejects.groupby(["column", "rule"]).size().sort_values(ascending=False)
                   if len(self.rejects) else pd.Series(dtype="int64"))
        return {"source_file": self.source_file, "rows_read": self.rows_read, "rows_valid": len(self.table),
                "rows_rejected": self.rows_rejected, "decoding": self.decoding.as_dict(),
                "reject_reasons": [{"column": c, "rule": r, "rows": int(n)} for (c, r), n in reasons.items()],
                "rejected_rows": reject_rows(self.rejects) if len(self.rejects) else []}


def _cut(text: Any, limit: int = 120) -> str:
    t = "" if text is None else str(text)
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _raw_text(frame: pd.DataFrame, pos: int) -> str:
    return ",".join("NA" if v is None else str(v) for v in frame.iloc[pos].tolist())


def read_cnipa(path: str | Path, contract: Contract | str | Path | None = None,
               config: CnipaReadConfig | None = None) -> CnipaRead:
    """Read, type and check the CNIPA table; quarantine bad rows (see the module docstring).

    Raises `InputError` when the header lacks a contract column, or when more than
    ``max_reject_share`` of the rows are bad (naming the most frequent broken rules)."""
    cfg = config or CnipaReadConfig()
    c = contract if isinstance(contract, Contract) else load_contract(contract or TABLE)
    if c.source_format is None:
        raise InputError(f"contract '{c.table}' has no source_format: it does not describe a published file")
    p = Path(path)
    pub = read_published(p, c.source_format)
    expected = {col.source_name or col.name for col in c.columns}
    absent = sorted(expected - set(pub.header))
    if absent:
        raise InputError(f"{p.name}: header lacks column(s) {absent} of contract '{c.table}' "
                         f"(rule 'missing_column'; found {list(pub.header)[:8]}...)")
    raw = pub.frame
    v = row_violations(raw, c)
    bad_pos = sorted(set(v["position"].tolist()))
    rejects: list[dict[str, Any]] = []
    key_src = c.column(c.primary_key[0]).source_name if c.primary_key else None
    for line, n_fields, text in pub.ragged:
        rejects.append({"source_line": line, "record": f"line {line}", "application_number": None, "column": "*",
                        "rule": "field_count", "value": f"{n_fields} fields, header has {len(pub.header)}",
                        "raw_record": text})
    for r in v.itertuples(index=False):
        pos = int(r.position)
        rejects.append({"source_line": pub.lines[pos], "record": f"line {pub.lines[pos]}",
                        "application_number": _cut(raw[key_src].iloc[pos], 60) if key_src else None,
                        "column": r.column, "rule": r.rule, "value": _cut(r.value), "raw_record": _raw_text(raw, pos)})
    n = len(raw) + len(pub.ragged)
    n_bad = len(bad_pos) + len(pub.ragged)
    rej = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS)).sort_values("source_line", kind="stable").reset_index(drop=True)
    if n == 0:
        raise InputError(f"{p.name}: no data rows")
    if n_bad > cfg.max_reject_share * n:
        top = rej.groupby(["column", "rule"]).size().sort_values(ascending=False).head(3)
        raise InputError(
            f"{p.name}: {n_bad} of {n} rows break contract '{c.table}' (more than max_reject_share "
            f"{cfg.max_reject_share:.0%}: not the published format?); most broken: "
            + "; ".join(f"{col}: rule '{rule}' ({k} rows)" for (col, rule), k in top.items())
            + f"; first bad row: line {rej['source_line'].iloc[0]}"
        )
    good = raw.drop(index=raw.index[bad_pos]).reset_index(drop=True)
    table = coerce_frame(good, c)[list(c.column_names)]
    table.attrs.clear()
    return CnipaRead(table, rej, pub.decoding, p.name, n)


def reject_rows(rejects: pd.DataFrame, max_reasons: int = 3) -> list[dict[str, Any]]:
    """One entry per quarantined row: source line, application number as read, number of broken
    rules and the first ``max_reasons`` of them as 'column: rule (value)'."""
    out = []
    for line, g in rejects.groupby("source_line", sort=True):
        reasons = [f"{r.column}: {r.rule}" + (f" ({str(r.value)[:40]!r})" if r.value not in ("", None) else "")
                   for r in g.itertuples(index=False)]
        app = g["application_number"].iloc[0]
        out.append({"source_line": int(line), "application_number": None if app is None else str(app)[:40],
                    "broken_rules": len(reasons), "reasons": reasons[:max_reasons]})
    return out


def rejects_file_frame(rejects: pd.DataFrame) -> pd.DataFrame:
    """The rejects as written to ``rejects.csv``: one line per quarantined row with its source line,
    application number as read, every broken rule as 'column: rule (value)' joined by ' | ', and the
    raw record (fields re-joined with commas, missing as NA)."""
    rows = []
    for line, g in rejects.groupby("source_line", sort=True):
        reasons = [f"{r.column}: {r.rule}" + (f" ({r.value})" if r.value not in ("", None) else "")
                   for r in g.itertuples(index=False)]
        rows.append({"source_line": int(line), "application_number": g["application_number"].iloc[0],
                     "broken_rules": len(reasons), "reasons": " | ".join(reasons), "raw_record": g["raw_record"].iloc[0]})
    return pd.DataFrame(rows, columns=["source_line", "application_number", "broken_rules", "reasons", "raw_record"])


def cnipa_events(table: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """The legal-status events of a typed ``cnipa_patents`` table, one row per non-empty status date
    (filed, published, national phase entered, examination started, granted, rejected, withdrawn,
    waived, lapsed = terminated, restored), in ``patent_events`` columns."""
    parts = []
    for column, event_type in LEGAL_STATUS_EVENTS:
        d = table[column]
        m = d.notna().to_numpy()
        if not m.any():
            continue
        app = table["application_number"][m].astype(str).to_numpy()
        parts.append(pd.DataFrame({
            "event_id": [f"{SOURCE}:{a}/{column}:{a}" for a in app],
            "patent_id": app,
            "jurisdiction": "CN",
            "application_number": app,
            "publication_number": table["publication_number"][m].to_numpy(),
            "patent_number": None,
            "event_type": event_type,
            "event_detail": None,
            "event_date": d[m].to_numpy(),
            "execution_date": pd.NaT,
            "source": SOURCE,
            "source_file": source_file,
            "source_record_id": [f"{a}/{column}" for a in app],
            "conveyance_text": None,
            "from_parties": None,
            "to_parties": None,
            "title": None,
        }))
    if not parts:
        return pd.DataFrame(columns=list(event_columns()))
    ev = pd.concat(parts, ignore_index=True)[list(event_columns())]
    ev["execution_date"] = pd.to_datetime(ev["execution_date"])
    order = {c: i for i, (c, _) in enumerate(LEGAL_STATUS_EVENTS)}
    ev["_k"] = ev["source_record_id"].str.split("/").str[-1].map(order)
    ev = ev.sort_values(["patent_id", "event_date", "_k"], kind="stable").drop(columns="_k").reset_index(drop=True)
    return ev


def rows_per_status(table: pd.DataFrame) -> dict[str, int]:
    """Applications per outcome at the snapshot: granted (and of those lapsed / waived / in force),
    rejected, withdrawn, pending."""
    granted = table["grant_date"].notna()
    lapsed = granted & table["termination_date"].notna()
    return {"applications": len(table), "granted": int(granted.sum()), "granted_then_lapsed": int(lapsed.sum()),
            "waived_at_grant": int(table["waiver_date"].notna().sum()),
            "rejected": int(table["rejection_date"].notna().sum()),
            "withdrawn": int(table["withdrawal_date"].notna().sum()),
            "pending_at_snapshot": int((table["last_event"] == 0).sum())}


__all__ = [
    "LEGAL_STATUS_EVENTS",
    "REJECT_COLUMNS",
    "CnipaRead",
    "CnipaReadConfig",
    "cnipa_events",
    "read_cnipa",
    "reject_rows",
    "rejects_file_frame",
    "rows_per_status",
]
