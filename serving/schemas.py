"""Request and response models, generated from the data contracts (never a hand-written field list).

`record_model(table)` turns a contract into a pydantic model whose JSON Schema (the OpenAPI
document's) says exactly what the contracts accept of one record, as far as JSON Schema can say it:

- type: `integer` (any JSON number without a fraction, so 2.0 too), `number` (finite), `boolean`,
  `date` (`format: date`, RFC 3339 full-date text only), `string`; allowed values → `enum`;
- range: `min`/`max` → `minimum`/`maximum`;
- text: the fast validator reads blank text (only whitespace) as null, so a text field that may not
  be null has `minLength: 1` and a pattern only non-blank text matches: the non-blank pattern
  (`data_contracts.validate.not_blank_pattern`), or the contract's own when it refuses blank text
  (else both); nullable fields admit `null`;
- the models are strict: JSON `"3"` is not an integer, `1` is not a boolean, `0` is not a date.

The rules JSON Schema cannot state (date order, column order, share sums, references, unique keys)
are then checked by the contracts' fast validator (`data_contracts.application`) and answered 422.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, with_config
from typing_extensions import TypedDict

from data_contracts import load_contract
from data_contracts.contract import Column
from data_contracts.validate import not_blank_pattern
from models.portfolio import METHODS
from pipelines.tranches_job import read_targets

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TRANCHE_POINTS = 12
"""Most attachment points a tranche request may give (so at most 11 tranches and 11 coupons)."""


def _date_from_text(v: Any) -> Any:
    """JSON carries a date as RFC 3339 full-date text (`YYYY-MM-DD`, what `format: date` means);
    anything else is left as it is, for the strict date check to refuse."""
    if isinstance(v, str) and _DATE_TEXT.fullmatch(v):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def _integral(v: Any) -> Any:
    """JSON Schema's `integer` is any number without a fractional part: 2.0 is the integer 2."""
    if type(v) is float and v.is_integer():
        return int(v)
    return v


_READERS: dict[Any, Any] = {int: BeforeValidator(_integral), dt.date: BeforeValidator(_date_from_text)}


def json_value(typ: Any, **rules: Any) -> Any:
    """`typ` with its constraints (`ge`, `le`, `pattern`...) and, for integers and dates, the JSON
    reading above. The constraints come before the reading, so the JSON Schema shows them as
    `minimum`, `maximum`... (pydantic writes constraints on a wrapped validator as unknown keys)."""
    parts = ([Field(**rules)] if rules else []) + ([_READERS[typ]] if typ in _READERS else [])
    return Annotated[(typ, *parts)] if parts else typ


JsonDate = json_value(dt.date)
Fraction = json_value(float, ge=0.0, le=1.0, allow_inf_nan=False)
_STRICT = ConfigDict(extra="forbid", strict=True)
_BASE_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "date": dt.date}


@cache
def _may_match_blank(pattern: str) -> bool:
    """Whether a contract pattern matches some blank text (tried: the empty string, each whitespace
    character once and twice, and all of them in a row). The shipped ones start with `^` and a
    letter, so they state the non-blank rule themselves and the schema needs no second pattern."""
    blanks = [c for c in map(chr, range(0x3001)) if c.isspace()]
    probes = ["", "".join(blanks), *blanks, *(c * 2 for c in blanks)]
    rx = re.compile(pattern)
    return any(rx.search(b) for b in probes)


def _field(col: Column, optional: bool = False) -> tuple[Any, Any]:
    """The annotation and field of one column. The constraints go on the value's own type (inside
    `Optional`), so the JSON Schema of a nullable field states them too."""
    typ: Any = Literal[tuple(col.allowed)] if col.allowed else _BASE_TYPES[col.type]
    desc = col.description + (f" [{col.unit}]" if col.unit else "")
    rules: dict[str, Any] = {}
    if col.min is not None:
        rules["ge"] = int(col.min) if col.type == "integer" else col.min
    if col.max is not None:
        rules["le"] = int(col.max) if col.type == "integer" else col.max
    if col.type == "string" and not col.allowed:
        if col.pattern:
            rules["pattern"] = col.pattern
        if not col.nullable:  # blank text is read as null, which this column refuses
            rules["min_length"] = 1
            if not col.pattern:
                rules["pattern"] = not_blank_pattern()
            elif _may_match_blank(col.pattern):  # both patterns, when the contract's own admits blank text
                rules["json_schema_extra"] = {"allOf": [{"pattern": not_blank_pattern()}]}
    if col.type == "number":
        rules["allow_inf_nan"] = False
    typ = json_value(typ, **rules)
    if col.nullable or optional:
        return Optional[typ], Field(default=None, description=desc)
    return typ, Field(..., description=desc)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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

    model_config = _STRICT
    firm: Firm  # type: ignore[valid-type]
    patents: list[Patent] = Field(..., min_length=1, description="Pledged patents (at least one)")  # type: ignore[valid-type]
    loan: Loan  # type: ignore[valid-type]


class BatchRequest(BaseModel):
    """Several applications scored together (at most `serving.max_batch`)."""

    model_config = _STRICT
    applications: list[Application] = Field(..., min_length=1)


class CollateralRequest(BaseModel):
    """Patents alone, valued as collateral on `as_of` (default: today)."""

    model_config = _STRICT
    patents: list[Patent] = Field(..., min_length=1)  # type: ignore[valid-type]
    as_of: Optional[JsonDate] = Field(default=None, description="Valuation date (default: today)")


def _coupon_rules(max_points: int) -> list[dict[str, Any]]:
    """What the tranche engine asks of coupons, in JSON Schema: they go with attachment points
    (with investor-class targets the coupons are the targets file's), one per tranche."""
    array = {"type": "array"}
    rules: list[dict[str, Any]] = [{
        "if": {"required": ["coupons"], "properties": {"coupons": array}},
        "then": {"required": ["attachment_points"], "properties": {"attachment_points": array}}}]
    for k in range(2, max_points + 1):
        rules.append({
            "if": {"required": ["coupons", "attachment_points"],
                   "properties": {"coupons": array, "attachment_points": {**array, "minItems": k, "maxItems": k}}},
            "then": {"properties": {"coupons": {"minItems": k - 1, "maxItems": k - 1}}}})
    return rules


class TrancheRequest(BaseModel):
    """A trust plan's pool and either attachment points or per-class targets (as `iprisk tranches`)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"allOf": _coupon_rules(MAX_TRANCHE_POINTS)})
    pool: list[PoolLoan] = Field(..., min_length=1)  # type: ignore[valid-type]
    method: Optional[Literal[METHODS]] = Field(  # type: ignore[valid-type]
        default=None, description="Loss engine: large homogeneous pool, exact finite pool, or Monte Carlo (default: settings)")
    attachment_points: Optional[list[Fraction]] = Field(
        default=None, min_length=2, max_length=MAX_TRANCHE_POINTS,
        description="Tranche boundaries as fractions of the pool, strictly increasing (e.g. [0, 0.05, 0.15, 1]); "
                    "omit to size tranches to the investor-class targets (`targets` is then ignored)")
    coupons: Optional[list[Fraction]] = Field(
        default=None, max_length=MAX_TRANCHE_POINTS - 1,
        description="Coupon per tranche (fraction), junior first: one per tranche, with `attachment_points` only")
    targets: Optional[dict[str, Fraction]] = Field(
        default=None, description="Investor class → target (fraction) overriding pipelines/tranche_targets.yaml")
    correlation: Optional[float] = Field(default=None, ge=0.0, le=0.99, allow_inf_nan=False, description="Asset correlation (fraction)")
    paths: Optional[json_value(int, ge=1000)] = Field(default=None, description="Monte Carlo paths (at most serving.max_paths)")
    seed: Optional[json_value(int, ge=0, le=2**31 - 1)] = Field(default=None, description="Monte Carlo seed")
    stress: Optional[bool] = Field(
        default=None, description="Also re-price the tranches under the settings' stress scenarios (tranches.stress_scenarios)")
    compare_methods: Optional[list[Literal[METHODS]]] = Field(  # type: ignore[valid-type]
        default=None, max_length=3, description="Other engines to price the same tranches with, to show how far they agree")


def _targets_type() -> Any:
    """Investor class → target, for the classes of pipelines/tranche_targets.yaml that have a target
    (the most junior takes what is left and has none)."""
    fields = {c.name: Annotated[Fraction, Field(description=f"{c.basis} target of the {c.name} class "
                                                          f"(default {c.target:g})")]
              for c in read_targets() if c.basis is not None}
    td = TypedDict("InvestorTargets", fields, total=False)  # type: ignore[misc]
    td.__doc__ = "Targets overriding pipelines/tranche_targets.yaml, by investor class (fractions)."
    return with_config(ConfigDict(extra="forbid", strict=True))(td)


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


class MonitoringOverview(_Answer):
    """`GET /v1/monitoring`: the data scientist's page (see pipelines/monitoring/overview.py)."""

    models: list[dict[str, Any]]
    monitoring: Optional[dict[str, Any]] = None


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
    pool size, Monte Carlo paths) and the shipped investor classes written into the schema, so the
    OpenAPI document states them."""
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
    tranche_fields = TrancheRequest.model_fields
    pool = create_model(
        "TrancheRequest", __base__=TrancheRequest,
        pool=(Annotated[list[PoolLoan], Field(min_length=1, max_length=cfg.max_pool,  # type: ignore[valid-type]
                                              description=f"The pool's loans (1 to {cfg.max_pool})")], ...),
        paths=(Optional[json_value(int, ge=1000, le=cfg.max_paths)],
               Field(default=None, description=f"Monte Carlo paths (1000 to {cfg.max_paths})")),
        targets=(Optional[_targets_type()], Field(default=None, description=tranche_fields["targets"].description)))
    pool.__doc__ = TrancheRequest.__doc__
    return app, batch, coll, pool
