"""Request checks: the contracts' fast validator per record, plus the cross-table rules of an
application (references and uniqueness), turned into `FieldError`s with a JSON path each.

Pydantic (models generated in `serving.schemas`) has already checked types; here every rule of
`data_contracts/*.yaml` is applied through `data_contracts.validate.check_record`, so the service
never carries a second copy of the rules.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from data_contracts.jsonable import jsonable
from data_contracts import load_contract
from data_contracts.contract import Contract, ForeignKeyRule, UniqueRule
from data_contracts.errors import Violation
from data_contracts.validate import check_record

# contract rule names for pydantic's error types (the request models are generated from contracts)
_PYDANTIC_RULES = {
    "missing": "not_null", "greater_than_equal": "min", "less_than_equal": "max", "greater_than": "min",
    "less_than": "max", "literal_error": "allowed", "enum": "allowed", "string_pattern_mismatch": "pattern",
    "extra_forbidden": "unknown_field", "too_short": "min_items", "too_long": "max_items",
    "json_invalid": "json", "finite_number": "type",
}

ApplicationDict = Mapping[str, Any]


_plain = jsonable


def field_error(path: str, rule: str, value: Any, message: str = "") -> dict[str, Any]:
    return {"path": path, "rule": rule, "value": _plain(value), "message": message}


def loc_path(loc: Sequence[Any]) -> str:
    """('body', 'patents', 2, 'expiry_date') → 'patents[2].expiry_date'."""
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def pydantic_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI validation errors → field errors named with contract rule names."""
    out = []
    for e in errors:
        typ = str(e.get("type", "invalid"))
        rule = _PYDANTIC_RULES.get(typ) or ("type" if typ.endswith(("_type", "_parsing")) or "type" in typ else typ)
        out.append(field_error(loc_path(e.get("loc", ())), rule, e.get("input"), str(e.get("msg", ""))))
    return out


def violation_errors(violations: Iterable[Violation], prefix: str) -> list[dict[str, Any]]:
    out = []
    for v in violations:
        cols = v.column.split(",")
        value: Any = v.examples[0] if v.examples else None
        if v.rule == "missing_column":
            for c in cols:
                out.append(field_error(f"{prefix}.{c}", "not_null", None, f"{v.table}.{c} is required"))
            continue
        path = f"{prefix}.{cols[-1]}" if len(cols) > 1 else f"{prefix}.{v.column}"
        out.append(field_error(path, v.rule, value, f"{v.table}.{v.column}: rule '{v.rule}' broken"))
    return out


@lru_cache(maxsize=None)
def _contract(table: str) -> Contract:
    return load_contract(table)


def _cross_rules(table: str) -> tuple[list[ForeignKeyRule], list[UniqueRule]]:
    c = _contract(table)
    return ([r for r in c.rules if isinstance(r, ForeignKeyRule)],
            [r for r in c.rules if isinstance(r, UniqueRule)])


def check_tables_records(rows: Mapping[str, list[tuple[str, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Check records grouped by table: `rows[table]` = [(json path of the record, record), ...].

    Applies every row-level contract rule (`check_record`), then the contracts' foreign-key rules
    against the other tables' records of the same request, and their unique rules within a table.
    """
    errors: list[dict[str, Any]] = []
    for table, recs in rows.items():
        contract = _contract(table)
        for path, rec in recs:
            errors.extend(violation_errors(check_record(rec, contract), path))
    for table, recs in rows.items():
        fks, uniques = _cross_rules(table)
        for fk in fks:
            if fk.ref_table not in rows:
                continue
            known = {r.get(fk.ref_column) for _, r in rows[fk.ref_table]}
            for path, rec in recs:
                v = rec.get(fk.column)
                if v is not None and v not in known:
                    errors.append(field_error(f"{path}.{fk.column}", "foreign_key", v,
                                              f"{table}.{fk.column} must match {fk.references} in the request"))
        for u in uniques:
            seen: dict[tuple, str] = {}
            for path, rec in recs:
                key = tuple(rec.get(c) for c in u.columns)
                if all(k is None for k in key):
                    continue
                if key in seen:
                    errors.append(field_error(f"{path}.{u.columns[-1]}", "unique", key[0] if len(key) == 1 else list(key),
                                              f"{table}: duplicate of {seen[key]}"))
                else:
                    seen[key] = path
    return errors


def application_rows(app: Mapping[str, Any], prefix: str = "") -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """An application (already filled by `fill_application`) as contract records with JSON paths."""
    firm = dict(app["firm"])
    loan = dict(app["loan"])
    patents = [dict(p) for p in app["patents"]]
    pledges = [{"loan_id": loan["loan_id"], "patent_id": p.get("patent_id")} for p in patents]
    p = prefix
    return {
        "firms": [(f"{p}firm", firm)],
        "patents": [(f"{p}patents[{i}]", x) for i, x in enumerate(patents)],
        "loans": [(f"{p}loan", loan)],
        "pledges": [(f"{p}patents[{i}]", x) for i, x in enumerate(pledges)],
    }


def fill_application(app: Mapping[str, Any], default_loan_id: str) -> dict[str, Any]:
    """Fill the optional ids: loan_id (default given), loan.firm_id and patents' firm_id (the firm's)."""
    firm = dict(app["firm"])
    loan = dict(app["loan"])
    if loan.get("loan_id") is None:
        loan["loan_id"] = default_loan_id
    if loan.get("firm_id") is None:
        loan["firm_id"] = firm.get("firm_id")
    patents = []
    for x in app["patents"]:
        x = dict(x)
        if x.get("firm_id") is None:
            x["firm_id"] = firm.get("firm_id")
        patents.append(x)
    return {"firm": firm, "patents": patents, "loan": loan}


def check_applications(apps: Sequence[Mapping[str, Any]], prefix_of=lambda i: "") -> list[dict[str, Any]]:
    """Every broken rule of filled applications, with paths (`prefix_of(i)` prefixes application i)."""
    errors: list[dict[str, Any]] = []
    for i, app in enumerate(apps):
        errors.extend(check_tables_records(application_rows(app, prefix_of(i))))
    return errors


def check_patents(patents: Sequence[Mapping[str, Any]], prefix: str = "patents") -> list[dict[str, Any]]:
    rows = defaultdict(list)
    for i, x in enumerate(patents):
        rows["patents"].append((f"{prefix}[{i}]", dict(x)))
    return check_tables_records(rows)


def check_pool(pool: Sequence[Mapping[str, Any]], prefix: str = "pool") -> list[dict[str, Any]]:
    return check_tables_records({"pool": [(f"{prefix}[{i}]", dict(x)) for i, x in enumerate(pool)]})
