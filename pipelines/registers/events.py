"""The register-event vocabulary: event types (from the `patent_events` contract) and the mapping
of a recorded document's conveyance text to an event type.

The USPTO writes a free-text *conveyance* for every recorded document ("SECURITY INTEREST (SEE
DOCUMENT FOR DETAILS).", "RELEASE BY SECURED PARTY ...", "MERGER ..."). `classify_conveyance` maps
it with an ordered list of patterns (`CONVEYANCE_RULES`, first match wins); a text no pattern knows
raises `InputError`, so a new kind of document is looked at by a person before it enters the event
table (a release classified as a transfer would leave a pledge that no longer exists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from data_contracts import InputError, load_contract

EVENTS_TABLE = "patent_events"


def event_types() -> tuple[str, ...]:
    """The closed list of event types (the contract's allowed values)."""
    return tuple(load_contract(EVENTS_TABLE).column("event_type").allowed or ())


def event_details() -> tuple[str, ...]:
    """The closed list of recorded-document kinds (the contract's allowed values)."""
    return tuple(load_contract(EVENTS_TABLE).column("event_detail").allowed or ())


def event_columns() -> tuple[str, ...]:
    return load_contract(EVENTS_TABLE).column_names


@dataclass(frozen=True)
class ConveyanceRule:
    """Conveyance texts matching ``pattern`` (case-insensitive regex) are ``event_type`` / ``detail``."""

    pattern: str
    event_type: str
    detail: str


CONVEYANCE_RULES: tuple[ConveyanceRule, ...] = (
    # releases first: "RELEASE BY SECURED PARTY" also says "SECURED"
    ConveyanceRule(r"\bRELEASE\b|\bRELEASED\b|TERMINATION OF (?:A )?SECURITY|SATISFACTION", "pledge_released", "release"),
    ConveyanceRule(r"SECURITY|\bLIEN\b|\bPLEDGE\b|MORTGAGE|COLLATERAL", "pledge_registered", "security_interest"),
    ConveyanceRule(r"\bLICEN[CS]E", "licence_granted", "licence"),
    ConveyanceRule(r"CHANGE OF NAME|NAME CHANGE", "name_changed", "change_of_name"),
    ConveyanceRule(r"NUNC PRO TUNC", "ownership_transferred", "nunc_pro_tunc"),
    ConveyanceRule(r"\bMERGER\b|AMALGAMATION", "ownership_transferred", "merger"),
    ConveyanceRule(r"CORRECTIVE ASSIGNMENT", "ownership_transferred", "corrective_assignment"),
    ConveyanceRule(r"\bASSIGNMENT\b|ASSIGNORS? INTEREST|ENTIRE INTEREST", "ownership_transferred", "assignment"),
)
"""Ordered: the first rule whose pattern matches decides. A corrective assignment that corrects a
security interest says so ("... CONFIRMS THE SECURITY INTEREST") and is then a pledge."""

_COMPILED = tuple((re.compile(r.pattern, re.IGNORECASE), r) for r in CONVEYANCE_RULES)


def classify_conveyance(text: str | None, where: str = "") -> tuple[str, str]:
    """(event_type, event_detail) of a conveyance text; `InputError` naming ``where`` (file and
    record) and the text when no rule knows it."""
    t = " ".join(str(text or "").split())
    if t:
        for rx, rule in _COMPILED:
            if rx.search(t):
                return rule.event_type, rule.detail
    raise InputError(
        f"{where}: field 'conveyance-text': rule 'allowed' broken: {t!r} maps to no event type "
        f"(known: {', '.join(sorted(set(event_types())))}); extend CONVEYANCE_RULES in pipelines/registers/events.py"
    )


def empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in event_columns()})


def event_counts(events: pd.DataFrame) -> dict[str, int]:
    """Rows per event type, every type of the closed list present (0 when absent), in list order."""
    vc = events["event_type"].value_counts() if len(events) else pd.Series(dtype="int64")
    return {t: int(vc.get(t, 0)) for t in event_types()}
