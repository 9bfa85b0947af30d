"""The feature catalogue: every feature's name, plain-words description, group, source and risk direction.

Directions and descriptions are DERIVED from the data contracts wherever a feature is a monotone
transform or aggregate of contract columns: a feature that rises with ``patents.claims_count``
(contract: safer) is safer; LTV rises with ``loans.amount`` (riskier) and falls with
``patents.appraised_value`` (safer), so it is riskier. A direction is declared by hand only where no
contract column carries one (dates, categories, shares of several columns); the declaration says
why, and is checked against whatever the contracts imply. Ambiguous features get 0.

Direction convention (as in LightGBM's ``monotone_constraints`` for a default model):
+1 = a higher value must not lower the risk ("riskier"), -1 = must not raise it ("safer"), 0 = none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from data_contracts import ContractError, ModelError, load_contract

Group = Literal["legal", "technical", "economic", "firm", "loan"]
CategoricalEncoding = Literal["codes", "onehot"]

POOL_PREFIX = "pledged_"
"""Prefix of the per-loan aggregates of patent indicators over the loan's pledged patents."""

FIRM_CATEGORIES: tuple[str, ...] = ("sector", "region", "ownership_type")
"""Firm category columns fed to the model (encoded as contract-order codes or one-hot)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One model feature.

    ``source_columns`` are qualified ``table.column`` names; ``source_table`` lists their tables.
    ``direction``: +1 riskier, -1 safer, 0 none; ``direction_reason`` says where it comes from.
    ``nan_when`` is empty if the feature is never missing (given at least one pledged patent for
    the ``pledged_*`` features and the pool totals), else the condition under which it is NaN.
    """

    name: str
    description: str
    group: Group
    source_table: str
    source_columns: tuple[str, ...]
    direction: int
    direction_reason: str
    unit: str = ""
    nan_when: str = ""

    @property
    def direction_word(self) -> str:
        return {1: "riskier", -1: "safer", 0: "none"}[self.direction]


# --------------------------------------------------------------------------------------------
# Derivation helpers
# --------------------------------------------------------------------------------------------


def _column(qualified: str):
    table, col = qualified.split(".", 1)
    return load_contract(table).column(col)


def _desc(qualified: str) -> str:
    return _column(qualified).description


def _derive(sources: Sequence[tuple[str, int]], declared: tuple[int, str] | None = None) -> tuple[int, str]:
    """Direction and reason from ``(table.column, monotonicity)`` pairs.

    ``monotonicity`` is +1 if the feature rises with the column, -1 if it falls, 0 if it is not
    monotone in it (a context column such as a cohort key). Columns without a contract direction
    do not vote. A ``declared`` (direction, reason) wins but must not contradict the contracts.
    """
    votes: list[tuple[int, str]] = []
    blocked: list[str] = []
    for qcol, mono in sources:
        sign = _column(qcol).monotone_sign
        if sign == 0:
            continue
        if mono == 0:
            blocked.append(qcol)
            continue
        word = _column(qcol).risk_direction
        verb = "rises" if mono > 0 else "falls"
        votes.append((sign * mono, f"{verb} with {qcol} ({word})"))
    implied = {v for v, _ in votes}
    if declared is not None:
        direction, reason = declared
        if blocked == [] and len(implied) == 1 and implied != {direction}:
            raise ContractError(
                f"feature direction declared {direction:+d} but the contracts imply {implied.pop():+d} ({'; '.join(r for _, r in votes)})"
            )
        return direction, f"declared: {reason}"
    if not votes and not blocked:
        return 0, "no risk direction in the contract"
    if blocked or len(implied) != 1:
        parts = [r for _, r in votes] + [f"not monotone in {q}" for q in blocked]
        return 0, "ambiguous: " + "; ".join(parts)
    return implied.pop(), "; ".join(r for _, r in votes)


def _tables(sources: Iterable[str]) -> str:
    seen: list[str] = []
    for q in sources:
        t = q.split(".", 1)[0]
        if t not in seen:
            seen.append(t)
    return ", ".join(seen)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --------------------------------------------------------------------------------------------
# Patent indicators (one row per patent)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Indicator:
    name: str
    group: Group
    sources: tuple[tuple[str, int], ...]  # ("patents.col", monotonicity)
    template: str  # "{0}" = description of the first source column
    declared: tuple[int, str] | None = None
    unit: str | None = None  # None = the first source's unit
    nan_when: str = ""


def _p(col: str, mono: int = 1) -> tuple[str, int]:
    return (f"patents.{col}", mono)


def _allowed(qcol: str) -> tuple[str, ...]:
    return _column(qcol).allowed or ()


def _one_hot(name: str, group: Group, qcol: str, value: str) -> _Indicator:
    return _Indicator(name, group, ((qcol, 0),), f"{{0}} is '{value}' (1) or not (0)", unit="0/1")


_IDENTITY = "{0}"

_INDICATORS: tuple[_Indicator, ...] = (
    # legal
    _Indicator(
        "is_valid", "legal", (_p("legal_status", 0),),
        "Patent is in force: {0} is 'granted' (1), not " + " or ".join(
            f"'{v}'" for v in _allowed("patents.legal_status") if v != "granted") + " (0)",
        declared=(-1, "a granted patent is enforceable and can be sold; a pending, lapsed or invalidated one secures little"),
        unit="0/1",
    ),
    _one_hot("is_invention", "legal", "patents.right_type", "invention"),
    _one_hot("is_utility_model", "legal", "patents.right_type", "utility_model"),
    _one_hot("is_design", "legal", "patents.right_type", "design"),
    _Indicator(
        "remaining_life_years", "legal", (_p("expiry_date"),),
        "Years from the valuation date (loan origination) to the patent's {0}, floored at 0",
        declared=(-1, "residual life raises sale prices; a right that expires early leaves little to sell"),
        unit="years",
    ),
    _Indicator(
        "remaining_life_share", "legal", (_p("expiry_date"), _p("filing_date", 0)),
        "Remaining life as a share of the statutory term from the {1} to the {0}",
        declared=(-1, "a larger share of the statutory term left means more of the right's value is still to come"),
        unit="fraction",
    ),
    _Indicator("co_owners", "legal", (_p("co_owners"),), _IDENTITY),
    _Indicator("transfers_count", "legal", (_p("transfers_count"),), _IDENTITY),
    _Indicator("litigation_count", "legal", (_p("litigation_count"),), _IDENTITY),
    _Indicator("invalidation_requests", "legal", (_p("invalidation_requests"),), _IDENTITY),
    _Indicator("maintenance_fees_late", "legal", (_p("maintenance_fees_late"),), _IDENTITY),
    _Indicator("claims_count", "legal", (_p("claims_count"),), _IDENTITY),
    _Indicator("independent_claims", "legal", (_p("independent_claims"),), _IDENTITY),
    _Indicator("family_size", "legal", (_p("family_size"),), _IDENTITY),
    _Indicator("jurisdictions", "legal", (_p("jurisdictions"),), _IDENTITY),
    # technical
    _Indicator(
        "forward_citations_norm", "technical",
        (_p("forward_citations"), _p("filing_date", 0), _p("ipc_main", 0), _p("appraisal_date", 0)),
        "Forward citations known at the valuation date (loan origination) within 5 years of the {1} "
        "(table patent_citations, citations dated before the valuation date; the window is shorter for younger "
        "patents), over the mean count of patents of the same IPC section at the same age (1 = average); "
        "without dated citations, the patents table's {0} (counted at the {3}) over the section mean at that age",
        unit="ratio",
    ),
    _Indicator("backward_citations", "technical", (_p("backward_citations"),), _IDENTITY),
    _Indicator("npl_citations", "technical", (_p("npl_citations"),), _IDENTITY),
    _Indicator("scope", "technical", (_p("ipc_subclass_count"),), _IDENTITY),
    _Indicator("self_citation_share", "technical", (_p("self_citation_share"),), _IDENTITY),
    _Indicator(
        "age_years", "technical", (_p("filing_date", -1),),
        "Years from the {0} to the valuation date (loan origination), floored at 0", unit="years",
    ),
    _Indicator(
        "grant_lag_years", "technical", (_p("grant_date"), _p("filing_date", -1)),
        "Years from the {1} to the {0}", unit="years",
        nan_when="the patent is pending (no grant date)",
    ),
    # economic
    _Indicator("licences_count", "economic", (_p("licences_count"),), _IDENTITY),
    _Indicator("exclusive_licence", "economic", (_p("exclusive_licence"),), _IDENTITY, unit="0/1"),
    _Indicator("appraised_value", "economic", (_p("appraised_value"),), _IDENTITY),
    _Indicator("log_appraised_value", "economic", (_p("appraised_value"),), "Natural log of (1 + {0} in CNY)", unit="log CNY"),
    *(
        _one_hot(f"appraisal_{m}", "economic", "patents.appraisal_method", m)
        for m in ("income", "market", "cost")
    ),
)


def _render(ind: _Indicator) -> str:
    descs = [_lower_first(_desc(q)) for q, _ in ind.sources]
    text = ind.template.format(*descs)
    return text[:1].upper() + text[1:]


def _indicator_unit(ind: _Indicator) -> str:
    if ind.unit is not None:
        return ind.unit
    col = _column(ind.sources[0][0])
    return col.unit or ("0/1" if col.type == "boolean" else "")


def _indicator_spec(ind: _Indicator) -> FeatureSpec:
    direction, reason = _derive(ind.sources, ind.declared)
    cols = tuple(q for q, _ in ind.sources)
    return FeatureSpec(
        name=ind.name, description=_render(ind), group=ind.group, source_table=_tables(cols),
        source_columns=cols, direction=direction, direction_reason=reason,
        unit=_indicator_unit(ind), nan_when=ind.nan_when,
    )


@lru_cache(maxsize=1)
def patent_indicator_specs() -> tuple[FeatureSpec, ...]:
    """Specs of the per-patent indicators returned by ``patent_indicators`` (in column order)."""
    specs = tuple(_indicator_spec(i) for i in _INDICATORS)
    # the categories' one-hots must cover the contract's allowed values exactly
    for qcol, prefix in (("patents.right_type", "is_"), ("patents.appraisal_method", "appraisal_")):
        names = {s.name for s in specs if qcol in s.source_columns and s.name.startswith(prefix) and s.name != "is_valid"}
        want = {prefix + v for v in _allowed(qcol)}
        if names != want:
            raise ContractError(f"patent indicators one-hot {sorted(names)} do not match {qcol} allowed {sorted(want)}")
    return specs


PATENT_INDICATOR_NAMES: tuple[str, ...] = tuple(i.name for i in _INDICATORS)
"""Column order of ``patent_indicators``'s output."""

PATENT_SOURCE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(q.split(".", 1)[1] for i in _INDICATORS for q, _ in i.sources)
)
"""``patents`` columns the indicators read (besides ``patent_id``)."""


# --------------------------------------------------------------------------------------------
# Per-loan aggregation plan over the pledged patents
# --------------------------------------------------------------------------------------------

Aggregate = Literal["wmean", "min", "max"]

_NOT_WEIGHTED = {"appraised_value", "log_appraised_value"}  # the pool's value is total_appraised_value
_WORST_BEST: tuple[tuple[str, Aggregate], ...] = (
    ("is_valid", "min"),  # any pledged patent not in force
    ("remaining_life_years", "min"),
    ("remaining_life_years", "max"),
    ("remaining_life_share", "min"),
    ("co_owners", "max"),
    ("transfers_count", "max"),
    ("litigation_count", "max"),
    ("invalidation_requests", "max"),
    ("maintenance_fees_late", "max"),
    ("self_citation_share", "max"),
    ("forward_citations_norm", "max"),
    ("family_size", "max"),
    ("jurisdictions", "max"),
)

POOL_AGGREGATES: tuple[tuple[str, Aggregate], ...] = tuple(
    [(n, "wmean") for n in PATENT_INDICATOR_NAMES if n not in _NOT_WEIGHTED]
    + sorted(_WORST_BEST, key=lambda t: PATENT_INDICATOR_NAMES.index(t[0]))
)
"""(indicator, aggregate) pairs, in feature order; the feature is ``pledged_<indicator>_<aggregate>``."""

_AGG_WORDS = {
    "wmean": "value-weighted mean over the pledged patents",
    "min": "lowest among the pledged patents",
    "max": "highest among the pledged patents",
}


def pool_feature_name(indicator: str, aggregate: Aggregate) -> str:
    return f"{POOL_PREFIX}{indicator}_{aggregate}"


def _aggregate_spec(base: FeatureSpec, aggregate: Aggregate) -> FeatureSpec:
    # weighted means, minima and maxima are non-decreasing in every element: the direction carries over
    reason = base.direction_reason
    if aggregate == "wmean" and not reason.startswith(("no ", "ambiguous")):
        reason = f"{reason} (value-weighted mean)"
    nan = base.nan_when and f"every pledged patent is such that {base.nan_when}"
    return FeatureSpec(
        name=pool_feature_name(base.name, aggregate),
        description=f"{base.description}; {_AGG_WORDS[aggregate]}",
        group=base.group, source_table=base.source_table, source_columns=base.source_columns,
        direction=base.direction, direction_reason=reason, unit=base.unit, nan_when=nan,
    )


def _pool_level_specs() -> tuple[FeatureSpec, ...]:
    value = "patents.appraised_value"
    out = []
    d, r = _derive((("pledges.patent_id", 0),))
    out.append(FeatureSpec(
        "pledged_patents", "Number of patents pledged for the loan", "economic", "pledges",
        ("pledges.patent_id",), d, r, unit="count",
    ))
    d, r = _derive((("patents.right_type", 0),))
    out.append(FeatureSpec(
        "invention_share",
        f"Share of the pledged patents (by count) whose {_lower_first(_desc('patents.right_type'))} is 'invention'",
        "legal", "patents", ("patents.right_type",), d, r, unit="fraction",
    ))
    d, r = _derive(((value, 0),), declared=(
        1, "a pool resting on one patent loses most of its value if that patent is invalidated or unsellable"))
    out.append(FeatureSpec(
        "concentration",
        "Largest single pledged patent's share of the pledged patents' total appraised value",
        "economic", "patents", (value,), d, r, unit="fraction",
        nan_when="every pledged patent is appraised at 0",
    ))
    d, r = _derive(((value, 1),))
    out.append(FeatureSpec(
        "total_appraised_value", f"{_desc(value)}, summed over the pledged patents (CNY)".replace(" of the patent", ""), "economic",
        "patents", (value,), d, r, unit="CNY",
    ))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Firm features
# --------------------------------------------------------------------------------------------


def _is_money(col) -> bool:
    return col.unit == "CNY"


def firm_numeric_columns() -> tuple[str, ...]:
    """Numeric and boolean ``firms`` columns fed to the model (money columns as ``log_<name>``)."""
    return tuple(
        c.name for c in load_contract("firms").feature_columns if c.type in ("integer", "number", "boolean")
    )


def _firm_specs(encoding: CategoricalEncoding) -> tuple[FeatureSpec, ...]:
    firms = load_contract("firms")
    out: list[FeatureSpec] = []
    for name in firm_numeric_columns():
        c = firms.column(name)
        q = f"firms.{name}"
        d, r = _derive(((q, 1),))
        nan = "the contract allows it to be empty: " + c.description if c.nullable else ""
        if _is_money(c):
            out.append(FeatureSpec(
                f"log_{name}", f"Natural log of (1 + {_lower_first(c.description)} in CNY)", "firm", "firms",
                (q,), d, r, unit="log CNY", nan_when=nan,
            ))
        else:
            unit = c.unit or ("0/1" if c.type == "boolean" else "")
            out.append(FeatureSpec(name, c.description, "firm", "firms", (q,), d, r, unit=unit, nan_when=nan))
    d, r = _derive((("firms.founding_date", -1), ("loans.origination_date", 1)), declared=(
        -1, "young firms default more often than established ones (liability of newness)"))
    out.append(FeatureSpec(
        "firm_age_years",
        f"Firm age: years from the {_lower_first(_desc('firms.founding_date'))} to the {_lower_first(_desc('loans.origination_date'))}",
        "firm", "firms, loans", ("firms.founding_date", "loans.origination_date"), d, r, unit="years",
    ))
    for name in FIRM_CATEGORIES:
        c = firms.column(name)
        q = f"firms.{name}"
        d, r = _derive(((q, 0),))
        if encoding == "codes":
            legend = ", ".join(f"{i} = {v}" for i, v in enumerate(c.allowed or ()))
            out.append(FeatureSpec(
                f"{name}_code", f"{c.description} (category code: {legend})", "firm", "firms", (q,), d,
                r + "; categorical", unit="code",
            ))
        else:
            for v in c.allowed or ():
                out.append(FeatureSpec(
                    f"{name}__{v}", f"{c.description} is '{v}' (1) or not (0)", "firm", "firms", (q,), d, r, unit="0/1",
                ))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Loan structure
# --------------------------------------------------------------------------------------------

ENHANCEMENT_COLUMNS: tuple[str, ...] = ("guarantee_share", "insurance_share", "compensation_share")
"""``loans`` columns whose sum (capped at 1) is the share of the loss credit enhancements absorb."""

EXCLUDED_LOAN_COLUMNS: dict[str, str] = {
    "interest_rate": (
        "an output of pricing, set after the bank judged the risk: feeding it back would leak that "
        "judgement into the PD model, and a new request has no rate yet"
    ),
}
"""``loans`` columns deliberately not used as features, and why."""


def _loan_specs() -> tuple[FeatureSpec, ...]:
    amount, value = "loans.amount", "patents.appraised_value"
    shares = tuple(f"loans.{c}" for c in ENHANCEMENT_COLUMNS)
    out: list[FeatureSpec] = []
    d, r = _derive(((amount, 1),))
    out.append(FeatureSpec("log_amount", f"Natural log of the {_lower_first(_desc(amount))} in CNY", "loan", "loans",
                           (amount,), d, r, unit="log CNY"))
    q = "loans.term_months"
    d, r = _derive(((q, 1),))
    out.append(FeatureSpec("term_months", _desc(q), "loan", "loans", (q,), d, r, unit=_column(q).unit or ""))
    d, r = _derive(tuple((s, 1) for s in shares))
    out.append(FeatureSpec(
        "enhancement_share",
        "Share of the loss covered by credit enhancements: " + " + ".join(_lower_first(_desc(s)) for s in shares) + " (capped at 1)",
        "loan", "loans", shares, d, r, unit="fraction",
    ))
    d, r = _derive(((amount, 1), (value, -1)), declared=(
        1, "rises with loans.amount (riskier) and falls with the pledged patents' appraised value (safer)"))
    out.append(FeatureSpec(
        "ltv", "Loan-to-value: loan amount over the pledged patents' total appraised value (capped; the cap when nothing of value is pledged)",
        "loan", "loans, patents", (amount, value), d, r, unit="ratio",
    ))
    d, r = _derive(((value, 1), (amount, -1), *((s, 1) for s in shares)))
    out.append(FeatureSpec(
        "coverage_after_enhancements",
        "Pledged patents' total appraised value over the part of the loan that enhancements do not cover: value / (amount x (1 - enhancement share)), capped",
        "loan", "loans, patents", (value, amount, *shares), d, r, unit="ratio",
    ))
    d, r = _derive(((amount, 1), ("firms.total_assets", -1)))
    out.append(FeatureSpec(
        "amount_to_assets", "Loan amount over the firm's total assets", "loan", "loans, firms",
        (amount, "firms.total_assets"), d, r, unit="ratio",
    ))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Public catalogue
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def feature_specs(categorical_encoding: CategoricalEncoding = "codes") -> tuple[FeatureSpec, ...]:
    """Every column of ``FeatureBuilder.transform``'s frame, in its column order.

    ``categorical_encoding`` must match the builder's (``"codes"``: one float code per category
    column, in the contract's allowed order, for LightGBM's ``categorical_feature``; ``"onehot"``:
    one 0/1 column per allowed value, for linear models and scorecards).
    """
    if categorical_encoding not in ("codes", "onehot"):
        raise ContractError(f"categorical_encoding must be 'codes' or 'onehot', got {categorical_encoding!r}")
    base = {s.name: s for s in patent_indicator_specs()}
    pool = tuple(_aggregate_spec(base[i], a) for i, a in POOL_AGGREGATES)
    specs = pool + _pool_level_specs() + _firm_specs(categorical_encoding) + _loan_specs()
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"duplicate feature names {dupes}")
    return specs


def categorical_feature_names(categorical_encoding: CategoricalEncoding = "codes") -> tuple[str, ...]:
    """Names to pass as LightGBM ``categorical_feature`` (empty for one-hot encoding)."""
    if categorical_encoding == "onehot":
        return ()
    return tuple(f"{c}_code" for c in FIRM_CATEGORIES)


@lru_cache(maxsize=1)
def _spec_index() -> dict[str, FeatureSpec]:
    out: dict[str, FeatureSpec] = {}
    for enc in ("codes", "onehot"):
        for s in feature_specs(enc):
            out[s.name] = s
    for s in patent_indicator_specs():
        out.setdefault(s.name, s)
    return out


def spec_for(name: str) -> FeatureSpec:
    """The spec of a feature (or patent indicator) by name; ``ModelError`` if unknown."""
    try:
        return _spec_index()[name]
    except KeyError:
        raise ModelError(f"features: no feature spec named {name!r}") from None


def monotone_constraints(feature_names: Sequence[str]) -> list[int]:
    """LightGBM ``monotone_constraints`` aligned to ``feature_names`` (+1 riskier, -1 safer, 0 none).

    Raises ``ModelError`` naming the unknown features if any name has no spec.
    """
    index = _spec_index()
    unknown = [n for n in feature_names if n not in index]
    if unknown:
        raise ModelError(f"features: monotone_constraints got {len(unknown)} unknown feature name(s), e.g. {unknown[:5]}")
    return [index[n].direction for n in feature_names]


# --------------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------------

DOC_BEGIN = "<!-- BEGIN GENERATED by features.specs.features_markdown(); do not edit by hand -->"
DOC_END = "<!-- END GENERATED -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def features_markdown(categorical_encoding: CategoricalEncoding = "codes") -> str:
    """Markdown tables of the patent indicators and of the per-loan features, from the specs."""
    arrow = {1: "+1 riskier", -1: "-1 safer", 0: "0"}
    lines = ["### Patent indicators (`patent_indicators`, one row per patent)", "",
             "| name | group | definition | unit | source | direction | why |", "|---|---|---|---|---|---|---|"]
    for s in patent_indicator_specs():
        src = ", ".join(f"`{q}`" for q in s.source_columns)
        lines.append(f"| `{s.name}` | {s.group} | {_cell(s.description)} | {s.unit} | {src} | {arrow[s.direction]} | {_cell(s.direction_reason)} |")
    lines += ["", f"### Loan features (`FeatureBuilder.transform`, one row per loan, `categorical_encoding={categorical_encoding!r}`)", "",
              "| # | name | group | definition | unit | source | direction | why | NaN when |",
              "|---|---|---|---|---|---|---|---|---|"]
    for i, s in enumerate(feature_specs(categorical_encoding)):
        src = ", ".join(f"`{q}`" for q in s.source_columns)
        lines.append(
            f"| {i} | `{s.name}` | {s.group} | {_cell(s.description)} | {s.unit} | {src} | {arrow[s.direction]} "
            f"| {_cell(s.direction_reason)} | {_cell(s.nan_when)} |"
        )
    lines += ["", "Columns deliberately left out:", ""]
    for col, why in EXCLUDED_LOAN_COLUMNS.items():
        lines.append(f"- `loans.{col}`: {why}.")
    return "\n".join(lines) + "\n"


def update_markdown(text: str) -> str:
    """``text`` with the block between ``DOC_BEGIN`` and ``DOC_END`` replaced by ``features_markdown()``."""
    pattern = re.compile(re.escape(DOC_BEGIN) + r"\n.*?" + re.escape(DOC_END), re.S)
    if not pattern.search(text):
        raise ContractError("features doc: generated-block markers not found")
    block = f"{DOC_BEGIN}\n{features_markdown()}{DOC_END}"
    return pattern.sub(lambda _: block, text, count=1)
