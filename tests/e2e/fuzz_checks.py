"""Schemathesis hooks for tests/e2e/test_fuzz_openapi.py (loaded with SCHEMATHESIS_HOOKS=fuzz_checks).

Every built-in check runs (`--checks all`). One expectation is configured narrowly there:
`positive_data_acceptance` also accepts 422 on the operations whose bodies carry contract rules
JSON Schema cannot state (a rule between two fields, between records, or on the whole pool). The
check below makes that allowance exact: a schema-valid request may be refused only for such rules,
named in `CROSS_FIELD_RULES`; any other rule in a 422 (a type, a range, a pattern, a missing field,
an allowed value...) means the published schema is less strict than the service, and fails.
"""

from __future__ import annotations

import schemathesis

CROSS_FIELD_RULES: dict[str, frozenset[str]] = {
    # date_order (filing ≤ grant ≤ expiry, filing ≤ appraisal), column_order (independent_claims ≤
    # claims_count), sum_at_most (the loan's three loss shares), foreign_key (patents' and the loan's
    # firm_id equal the firm's), unique (one patent_id per application): relations between fields or
    # records, which JSON Schema has no keyword for.
    "/v1/loans/score": frozenset({"date_order", "column_order", "sum_at_most", "foreign_key", "unique"}),
    # ... and across the applications of a batch: one firm_id / patent_id means one record, loan ids unique.
    "/v1/loans/score-batch": frozenset({"date_order", "column_order", "sum_at_most", "foreign_key", "unique", "consistent"}),
    "/v1/collateral/value": frozenset({"date_order", "column_order", "unique"}),
    # unique loan ids in the pool; `portfolio`: what the loss engines find about the pool as a whole
    # (see PORTFOLIO_REASONS).
    "/v1/trust/tranches": frozenset({"unique", "portfolio"}),
}
"""Operation → the rules a schema-valid body may still break (the 422s positive data may get)."""

PORTFOLIO_REASONS: tuple[str, ...] = (
    "strictly increasing",            # attachment points in order: no JSON Schema keyword compares items
    "no tranche below detachment",    # a class's target cannot be met on this pool's loss distribution
    "no tranche can meet it",         # the most junior class's target cannot be met on this pool
    "leaving nothing for the classes below",  # a target met from attachment 0 on this pool
    "exposures sum to 0",             # every loan may have EAD 0, but not the whole pool
)
"""The tranche engine's refusals that depend on the pool as a whole (a sum, an order, a loss
distribution); any other `portfolio` refusal of a schema-valid body is a schema that says too little."""


def _allowed(path: str, error: dict) -> bool:
    rule = error.get("rule")
    if rule not in CROSS_FIELD_RULES.get(path, ()):
        return False
    return rule != "portfolio" or any(r in str(error.get("message", "")) + str(error.get("value", "")) for r in PORTFOLIO_REASONS)


@schemathesis.check
def refused_only_for_rules_json_schema_cannot_state(ctx, response, case):
    """A schema-valid request answered 422 broke only cross-field / whole-pool contract rules."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    errors = response.json().get("errors") or []
    other = [e for e in errors if not _allowed(case.path, e)]
    if not errors or other:
        raise AssertionError(f"schema-valid body refused for rules the schema could state: {other or 'no errors listed'}")
    return None


@schemathesis.check
def refusals_name_the_field(ctx, response, case):
    """Every 400 and 422 lists the broken rules, each with its path, rule and value."""
    if response.status_code not in (400, 422):
        return None
    errors = response.json().get("errors")
    if not errors or not all({"path", "rule", "value"} <= set(e) for e in errors):
        raise AssertionError(f"{response.status_code} without field errors: {response.text[:300]}")
    return None
