"""One application's tables: the checks of its records against the contracts, and the
contract-typed frames the scoring facade reads.

An application is JSON-shaped: ``{"firm": {...}, "patents": [{...}, ...], "loan": {...}}``.
`check_applications` applies every row-level rule of `data_contracts/*.yaml` through the fast
validator (`data_contracts.validate.check_record`) plus the cross-table rules of one application
(references and uniqueness), each broken rule a field error ``{path, rule, value, message}`` with a
JSON path such as ``patents[2].expiry_date``. The service and batch scoring share this module, so
neither carries a second copy of the rules. `application_tables` turns checked applications into
the firms / patents / loans / pledges frames, typed as their contracts say.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.contract import Contract, ForeignKeyRule, UniqueRule, load_contract
from data_contracts.errors import Violation
from data_contracts.frames import coerce_frame
from data_contracts.jsonable import jsonable
from data_contracts.validate import check_record

# contract rule names for pydantic's error types (the request models are generated from contracts)
_PYDANTIC_RULES = {
    "missing": "not_null", "greater_than_equal": "min", "less_than_equal": "max", "greater_than": "min",
    "less_than": "max", "literal_error": "allowed", "enum": "allowed", "string_pattern_mismatch": "pattern",
    "extra_forbidden": "unknown_field", "too_short": "min_items", "too_long": "max_items",
    "json_invalid": "json", "finite_number": "type",
}

ApplicationDict = Mapping[str, Any]


def field_error(path: str, rule: str, value: Any, message: str = "") -> dict[str, Any]:
    """One broken rule as the service and batch scoring report it."""
    return {"path": path, "rule": rule, "value": jsonable(value), "message": message}


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


@cache
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


def check_batch(apps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rules across the applications of one batch: one firm_id / patent_id means one record, and
    loan ids are unique (paths `applications[i]…`)."""
    errs: list[dict[str, Any]] = []
    for kind, key, getter in (("firm", "firm_id", lambda a: [a["firm"]]), ("patents", "patent_id", lambda a: a["patents"])):
        seen: dict[Any, tuple[int, Mapping]] = {}
        for i, a in enumerate(apps):
            for j, rec in enumerate(getter(a)):
                k = rec.get(key)
                if k in seen and seen[k][1] != rec:
                    where = f"applications[{i}].{kind}" + (f"[{j}]" if kind == "patents" else "")
                    errs.append(field_error(f"{where}.{key}", "consistent", k,
                                            f"{key} {k} appears with different data in applications[{seen[k][0]}]"))
                seen.setdefault(k, (i, rec))
    loan_ids = [a["loan"]["loan_id"] for a in apps]
    for i, lid in enumerate(loan_ids):
        if lid in loan_ids[:i]:
            errs.append(field_error(f"applications[{i}].loan.loan_id", "unique", lid, "duplicate loan_id"))
    return errs


def check_patents(patents: Sequence[Mapping[str, Any]], prefix: str = "patents") -> list[dict[str, Any]]:
    rows = defaultdict(list)
    for i, x in enumerate(patents):
        rows["patents"].append((f"{prefix}[{i}]", dict(x)))
    return check_tables_records(rows)


def check_pool(pool: Sequence[Mapping[str, Any]], prefix: str = "pool") -> list[dict[str, Any]]:
    return check_tables_records({"pool": [(f"{prefix}[{i}]", dict(x)) for i, x in enumerate(pool)]})


# -- contract-typed tables --------------------------------------------------------------------------
_DTYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "str", "category": "str"}


def record_frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of already-checked JSON records → the contract-typed frame `coerce_frame` would give.

    Requests are small and already checked against the contract, so each column is built at once
    with its contract type (a test pins the result to `coerce_frame`'s); anything unusual (a value
    the direct build cannot take) falls back to `coerce_frame` itself.
    """
    contract = _contract(table)
    return column_frame(table, {c.name: [r.get(c.name) for r in rows] for c in contract.columns})


def table_columns(table: str) -> tuple[str, ...]:
    """The contract's column names of a scoring table (firms, patents, loans, pledges)."""
    return _contract(table).column_names


def column_frame(table: str, columns: Mapping[str, list[Any]]) -> pd.DataFrame:
    """Columns of already-checked JSON values (one list per contract column, all the same length; a
    column left out is all-null) → the contract-typed frame `record_frame` gives for the same rows."""
    contract = _contract(table)
    n = len(next(iter(columns.values()))) if columns else 0
    vals_of = {c.name: columns.get(c.name) or [None] * n for c in contract.columns}
    try:
        cols: dict[str, Any] = {}
        for c in contract.columns:
            vals = vals_of[c.name]
            if c.type == "date":
                cols[c.name] = _dates(vals)
            elif c.type == "number":
                cols[c.name] = _numbers(vals)
            else:
                cols[c.name] = pd.array(vals, dtype=_DTYPES[c.type])
        df = pd.DataFrame(cols)
        df.attrs["type_issues"] = {}
        return df
    except (TypeError, ValueError):
        df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in vals_of.items()}, columns=list(contract.column_names))
        return coerce_frame(df, contract)


def _numbers(vals: list[Any]) -> Any:
    """JSON numbers (None for null) → float64 (NaN), as ``pd.array(vals, dtype="float64")`` gives,
    ~40× cheaper for a request's handful of rows; anything but int/float/None goes the pandas way."""
    if all(v is None or (type(v) in (int, float)) for v in vals):
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    return pd.array(vals, dtype="float64")


def _dates(vals: list[Any]) -> Any:
    """ISO dates (None for null) → datetime64[us] (NaT): numpy parses plain ``YYYY-MM-DD``
    strings (the application schema's format) ~50× cheaper than ``pd.to_datetime``, which takes
    everything else (times, offsets)."""
    if all(v is None or (type(v) is str and len(v) == 10) for v in vals):
        try:
            return np.array(vals, dtype="datetime64[D]").astype("datetime64[us]")
        except ValueError:
            pass
    return pd.to_datetime(pd.Series(vals, dtype=object), format="ISO8601").astype("datetime64[us]")


def application_tables(apps: Sequence[Mapping[str, Any]]) -> dict[str, pd.DataFrame]:
    """Filled applications → the scoring tables (firms, patents, loans, pledges), contract-typed.

    A firm or patent appearing in several applications of a batch is listed once.
    """
    firms: dict[Any, Mapping] = {}
    patents: dict[Any, Mapping] = {}
    loans, pledges = [], []
    for a in apps:
        firms.setdefault(a["firm"]["firm_id"], a["firm"])
        loans.append(a["loan"])
        for p in a["patents"]:
            patents.setdefault(p["patent_id"], p)
            pledges.append({"loan_id": a["loan"]["loan_id"], "patent_id": p["patent_id"]})
    return {
        "firms": record_frame("firms", list(firms.values())),
        "patents": record_frame("patents", list(patents.values())),
        "loans": record_frame("loans", loans),
        "pledges": record_frame("pledges", pledges),
    }
