"""From checked requests to the scoring bundle and back: contract-typed tables, JSON-safe answers.

Shared by the service and by `iprisk audit replay`, so a replay takes exactly the service's path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import pandas as pd

from data_contracts import load_contract
from data_contracts.jsonable import jsonable  # noqa: F401  (re-exported for the service)
from data_contracts.frames import coerce_frame

_DTYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "str", "category": "str"}


def _frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of already-checked JSON records → the contract-typed frame `coerce_frame` would give.

    Requests are small and already checked against the contract, so each column is built at once
    with its contract type (a test pins the result to `coerce_frame`'s); anything unusual (a value
    the direct build cannot take) falls back to `coerce_frame` itself.
    """
    contract = load_contract(table)
    try:
        cols: dict[str, Any] = {}
        for c in contract.columns:
            vals = [r.get(c.name) for r in rows]
            if c.type == "date":
                cols[c.name] = pd.to_datetime(pd.Series(vals, dtype=object), format="ISO8601").astype("datetime64[us]")
            else:
                cols[c.name] = pd.array(vals, dtype=_DTYPES[c.type])
        df = pd.DataFrame(cols)
        df.attrs["type_issues"] = {}
        return df
    except (TypeError, ValueError):
        df = pd.DataFrame([dict(r) for r in rows], columns=list(contract.column_names))
        return coerce_frame(df, contract)


def application_tables(apps: Sequence[Mapping[str, Any]]) -> dict[str, pd.DataFrame]:
    """Filled applications → the bundle's tables (firms, patents, loans, pledges), contract-typed.

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
        "firms": _frame("firms", list(firms.values())),
        "patents": _frame("patents", list(patents.values())),
        "loans": _frame("loans", loans),
        "pledges": _frame("pledges", pledges),
    }


def score_applications(bundle: Any, apps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decisions for filled applications, in request order (matched by loan_id)."""
    out = bundle.score(application_tables(apps))
    by_id = {str(d["loan_id"]): d for d in out}
    return [jsonable(by_id[str(a["loan"]["loan_id"])]) for a in apps]


def value_collateral(bundle: Any, patents: Sequence[Mapping[str, Any]], as_of: str | dt.date | None) -> dict[str, Any]:
    """Per-patent value scores, expected liquidation value and LTV cap of a set of patents."""
    when = pd.Timestamp(as_of or dt.date.today())
    return jsonable(bundle.value_collateral(_frame("patents", patents), when))


def pool_frame(pool: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return _frame("pool", pool)
