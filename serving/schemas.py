"""Request and response models, generated from the data contracts (never a hand-written field list).

`record_model(table)` turns a contract into a pydantic model: each column's type, nullability,
range (`ge`/`le`), pattern, allowed values (`Literal`), unit and description. These models give
the OpenAPI document its schemas and catch type errors; the full rule set (date order, column
order, share sums, references) is then checked by the contracts' fast validator
(`serving.checks`).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from data_contracts import load_contract
from data_contracts.contract import Column

_BASE_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "date": dt.date}


def _field(col: Column, optional: bool = False) -> tuple[Any, Any]:
    typ: Any = Literal[tuple(col.allowed)] if col.allowed else _BASE_TYPES[col.type]
    desc = col.description + (f" [{col.unit}]" if col.unit else "")
    kw: dict[str, Any] = {"description": desc}
    if col.min is not None:
        kw["ge"] = int(col.min) if col.type == "integer" else col.min
    if col.max is not None:
        kw["le"] = int(col.max) if col.type == "integer" else col.max
    if col.pattern and not col.allowed:
        kw["pattern"] = col.pattern
    if col.type == "number":
        kw["allow_inf_nan"] = False
    if col.nullable or optional:
        return Optional[typ], Field(default=None, **kw)
    return typ, Field(..., **kw)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache
def record_model(table: str, omit: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                 name: str | None = None) -> type[BaseModel]:
    """A pydantic model for one row of `table`'s contract, leaving out `omit` and making `optional` optional."""
    contract = load_contract(table)
    fields = {c.name: _field(c, c.name in optional) for c in contract.columns if c.name not in omit}
    model = create_model(name or table.capitalize().rstrip("s"), __base__=_Record, **fields)
    model.__doc__ = contract.description
    return model


Firm = record_model("firms", name="Firm")
Patent = record_model("patents", optional=("firm_id",), name="Patent")
Patent.__doc__ = ("A patent (patents contract). `firm_id` defaults to the applicant's; if given, it must equal it.")
Loan = record_model("loans", optional=("loan_id", "firm_id"), name="LoanRequest")
Loan.__doc__ = ("The requested loan (loans contract). `loan_id` defaults to one derived from the request id; "
                "`firm_id`, if given, must equal the firm's.")
PoolLoan = record_model("pool", name="PoolLoan")


class Application(BaseModel):
    """One loan application: the firm, the patents it pledges and the loan it asks for."""

    model_config = ConfigDict(extra="forbid")
    firm: Firm  # type: ignore[valid-type]
    patents: list[Patent] = Field(..., min_length=1, description="Pledged patents (at least one)")  # type: ignore[valid-type]
    loan: Loan  # type: ignore[valid-type]


class BatchRequest(BaseModel):
    """Several applications scored together (at most `serving.max_batch`)."""

    model_config = ConfigDict(extra="forbid")
    applications: list[Application] = Field(..., min_length=1)


class CollateralRequest(BaseModel):
    """Patents alone, valued as collateral on `as_of` (default: today)."""

    model_config = ConfigDict(extra="forbid")
    patents: list[Patent] = Field(..., min_length=1)  # type: ignore[valid-type]
    as_of: Optional[dt.date] = Field(default=None, description="Valuation date (default: today)")


class TrancheRequest(BaseModel):
    """A trust plan's pool and either attachment points or per-class targets (as `iprisk tranches`)."""

    model_config = ConfigDict(extra="forbid")
    pool: list[PoolLoan] = Field(..., min_length=1)  # type: ignore[valid-type]
    method: Optional[Literal["lhp", "exact", "mc"]] = Field(
        default=None, description="Loss engine: large homogeneous pool, exact finite pool, or Monte Carlo (default: settings)")
    attachment_points: Optional[list[float]] = Field(
        default=None, min_length=2, max_length=12,
        description="Tranche boundaries as fractions of the pool, ascending from 0 to 1 (e.g. [0, 0.05, 0.15, 1]); "
                    "omit to size tranches to the investor-class targets")
    coupons: Optional[list[float]] = Field(default=None, max_length=11, description="Coupon per tranche (fraction), junior first")
    targets: Optional[dict[str, float]] = Field(
        default=None, description="Investor class → target (fraction) overriding pipelines/tranche_targets.yaml")
    correlation: Optional[float] = Field(default=None, ge=0.0, le=0.99, description="Asset correlation (fraction)")
    paths: Optional[int] = Field(default=None, ge=1000, description="Monte Carlo paths (at most serving.max_paths)")
    seed: Optional[int] = Field(default=None, ge=0, le=2**31 - 1, description="Monte Carlo seed")
    stress: Optional[bool] = Field(
        default=None, description="Also re-price the tranches under the settings' stress scenarios (tranches.stress_scenarios)")
    compare_methods: Optional[list[Literal["lhp", "exact", "mc"]]] = Field(
        default=None, max_length=3, description="Other engines to price the same tranches with, to show how far they agree")


class FieldError(BaseModel):
    """One broken rule in a request."""

    path: str = Field(..., description="Where, e.g. patents[2].expiry_date")
    rule: str = Field(..., description="Contract rule or type check that failed")
    value: Any = Field(default=None, description="The offending value")
    message: str = ""


class ErrorBody(BaseModel):
    """Body of every 4xx answer."""

    error: str
    request_id: Optional[str] = None
    errors: list[FieldError] = Field(default_factory=list)


class Decision(BaseModel):
    """One scored application (fields as documented in docs/api.md)."""

    model_config = ConfigDict(extra="allow")
    loan_id: str
    probability_of_default: float
    grade: Any = None
    recommendation: Any = None


class _Answer(BaseModel):
    """What every answer carries: the request id (also in the audit log) and the serving model versions."""

    request_id: str
    model_versions: dict[str, str]


class ScoreResponse(_Answer):
    decision: dict[str, Any]
    narrative: Optional[dict[str, Any]] = Field(
        default=None, description="The decision in words (models.wording.explain_decision): headline with the deciding rule, "
                                  "figures with units, reasons, counterfactual sentence, collateral rows")


class DecisionSummary(BaseModel):
    """One row of the decision history."""

    request_id: str
    recorded_at: str
    caller: str
    firm_id: Optional[str] = None
    sector: Optional[str] = None
    loan_id: Optional[str] = None
    amount: Optional[float] = None
    currency: Optional[str] = None
    recommendation: Optional[str] = None
    decision_rule: Optional[str] = None
    grade: Optional[str] = None
    probability_of_default: Optional[float] = None


class DecisionList(BaseModel):
    """A page of scored applications from the audit log, newest first."""

    request_id: str
    scope: Literal["mine", "all"]
    total: int = Field(..., description="Decisions matching the filters (all pages)")
    limit: int
    offset: int
    decisions: list[DecisionSummary]


class AuditedDecision(BaseModel):
    """A decision as the audit log holds it."""

    request_id: str
    recorded_at: str
    endpoint: str
    caller: str
    role: str
    inputs: dict[str, Any] = Field(..., description="The application as scored (ids filled in)")
    outputs: dict[str, Any] = Field(..., description="The decision as answered")
    model_versions: dict[str, str]


class DecisionRecordResponse(_Answer):
    record: AuditedDecision
    narrative: dict[str, Any]


class Difference(BaseModel):
    path: str
    recorded: Any = None
    replayed: Any = None


class ReplayResponse(_Answer):
    replayed_request_id: str
    identical: bool = Field(..., description="The replay reproduced every recorded output (floats to 1e-9 relative)")
    differences: list[Difference] = Field(default_factory=list, description="At most 50 differences")
    n_differences: int
    memo_identical: bool = Field(..., description="The memo rendered from the replayed decision equals the recorded one's")


class InvestorClassInfo(BaseModel):
    name: str
    investor: Optional[str] = None
    basis: Optional[str] = None
    target: Optional[float] = None
    coupon: Optional[float] = None


class TrustSettingsResponse(BaseModel):
    """What the fund manager's page offers: investor classes, stress scenarios, engines, the pool contract."""

    request_id: str
    classes: list[InvestorClassInfo]
    stress_scenarios: list[dict[str, Any]]
    methods: list[str]
    method: str
    correlation: float
    paths: int
    max_paths: int
    max_pool: int
    currency: str
    pool_columns: list[dict[str, Any]]


class PoolFromDecisionsResponse(BaseModel):
    request_id: str
    pool: list[dict[str, Any]]
    decisions_read: int = Field(..., description="Audit records read to build the pool")
    model_versions: list[dict[str, str]] = Field(default_factory=list, description="Distinct model versions that scored the pool's loans")
    source: str


class ApplicationForm(BaseModel):
    """The application's fields as the web form needs them, from the contracts."""

    sections: list[dict[str, Any]]
    max_patents: int


class BatchResponse(_Answer):
    decisions: list[dict[str, Any]]


class CollateralResponse(_Answer):
    collateral: dict[str, Any]


class TrancheResponse(_Answer):
    result: dict[str, Any]


class ModelsResponse(_Answer):
    metrics: dict[str, dict[str, Any]]
    pd_features: list[str] = Field(default_factory=list, description="Feature names the PD-only path POST /v1/pd expects")


class PDRequest(BaseModel):
    """The PD-only path: loan-level feature rows (as the PD model's signature), one PD per row."""

    records: list[dict[str, float]] = Field(..., min_length=1, max_length=1000)


class PDResponse(BaseModel):
    probability_of_default: list[float]


def column_form(col: Column, required: bool) -> dict[str, Any]:
    """One contract column as a form field: name, type, label (description), unit, min, max,
    allowed values, pattern, nullable, required."""
    return {"name": col.name, "type": col.type, "label": col.description, "unit": col.unit, "min": col.min, "max": col.max,
            "allowed": list(col.allowed) if col.allowed else None, "pattern": col.pattern, "nullable": col.nullable,
            "required": required}


def application_form(max_patents: int) -> dict[str, Any]:
    """The application form, derived from the contracts and the request models: the firm, the pledged
    patents (a table of up to `max_patents` rows), the loan and its credit enhancements (the loans
    contract's `sum_at_most` share columns). A field is required when the request model requires it."""
    loans = load_contract("loans")
    shares = [r for r in loans.rules if r.kind == "sum_at_most"]
    share_cols = {c for r in shares for c in r.columns}

    def fields(table: str, model: type[BaseModel], only=None, skip=()) -> list[dict[str, Any]]:
        c = load_contract(table)
        firm_refs = {r.column for r in c.rules if r.kind == "foreign_key" and r.references == "firms.firm_id"}
        out = []
        for col in c.columns:
            if col.name in skip or (only is not None and col.name not in only):
                continue
            f = column_form(col, model.model_fields[col.name].is_required())
            if col.name in firm_refs and not f["required"]:
                f["filled_from"] = "firm.firm_id"  # optional: the service fills it with the applicant's id
            out.append(f)
        return out

    return {"max_patents": max_patents, "sections": [
        {"key": "firm", "table": "firms", "title": "The firm", "description": load_contract("firms").description,
         "kind": "record", "fields": fields("firms", Firm)},
        {"key": "patents", "table": "patents", "title": "Pledged patents", "description": load_contract("patents").description,
         "kind": "table", "min_rows": 1, "max_rows": max_patents, "fields": fields("patents", Patent)},
        {"key": "loan", "table": "loans", "title": "The loan", "description": loans.description, "kind": "record",
         "fields": fields("loans", Loan, skip=share_cols)},
        {"key": "loan", "table": "loans", "title": "Credit enhancements", "kind": "record",
         "description": "; ".join(f"Shares of the loss that others cover, together at most {r.limit:.0%}" for r in shares),
         "sum_at_most": [{"columns": list(r.columns), "limit": r.limit} for r in shares],
         "fields": fields("loans", Loan, only=share_cols)},
    ]}


def bounded_requests(cfg: Any) -> tuple[type[BaseModel], ...]:
    """Request models with the service's configured bounds (patents per application, batch length,
    pool size) written into the schema, so the OpenAPI document states them."""
    patents_t = Annotated[list[Patent], Field(min_length=1, max_length=cfg.max_patents,  # type: ignore[valid-type]
                                              description=f"Pledged patents (1 to {cfg.max_patents})")]
    app = create_model("Application", __base__=Application, patents=(patents_t, ...))
    app.__doc__ = Application.__doc__
    batch = create_model("BatchRequest", __base__=BatchRequest, applications=(
        Annotated[list[app], Field(min_length=1, max_length=cfg.max_batch,  # type: ignore[valid-type]
                                   description=f"1 to {cfg.max_batch} applications")], ...))
    batch.__doc__ = BatchRequest.__doc__
    coll = create_model("CollateralRequest", __base__=CollateralRequest, patents=(patents_t, ...))
    coll.__doc__ = CollateralRequest.__doc__
    pool = create_model("TrancheRequest", __base__=TrancheRequest, pool=(
        Annotated[list[PoolLoan], Field(min_length=1, max_length=cfg.max_pool)], ...))  # type: ignore[valid-type]
    pool.__doc__ = TrancheRequest.__doc__
    return app, batch, coll, pool
