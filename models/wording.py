"""A credit decision in the words a credit committee reads.

`explain_decision(decision, application, config)` turns the scoring facade's decision dict
(`models.scoring.ScoringBundle.score`) and the application it decided into sentences and
formatted figures: the recommendation with the rule that decided it ("Refer: the loan-to-value
26.0% is above the 22.0% cap for these patents."), the figures with their units (CNY, %, years),
the reason codes with their full descriptions, the counterfactual amount as a sentence, and the
collateral rows. The web page and the decision memo both show this, so they always say the same.

`describe_record(table, record)` formats a contract record for a summary: labels are the
contracts' descriptions and values are formatted by the contracts' units, so no field list is
written here. Pure functions: no I/O, deterministic output for the same input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from data_contracts.contract import Column, load_contract
from features.specs import feature_specs
from models.decision import DecisionConfig

VERDICTS = {"approve": "Approve", "refer": "Refer", "decline": "Decline"}
"""Recommendation → the word that opens the headline."""

BINDING_LIMITS = {
    "ltv": "the loan-to-value cap",
    "max_amount": "the product's largest ticket",
    "el_rate": "the expected-loss-rate limit",
    "expected_loss": "the expected-loss limit per loan",
    "none_feasible": "the expected-loss-rate limit, which even the smallest loan breaks",
}
"""`max_loan_binding` → the limit in words."""

SURVIVAL_KEYS = ("survival_probability", "probability_in_force", "probability_in_force_at_maturity",
                 "in_force_probability", "survival_to_maturity", "p_in_force")
"""Names a collateral row may carry for the chance that the patent is still in force at the end of
the loan (a patent-survival model adds it); any other key with 'surviv' or 'in_force' is also read."""


# -- numbers ---------------------------------------------------------------------------------
def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def percent(v: Any, digits: int | None = None) -> str:
    """0.2612 → '26.1%'; one decimal from 1% up, two below (or `digits`); '—' when missing."""
    f = _num(v)
    if f is None:
        return "—"
    if digits is None:
        digits = 1 if abs(f) >= 0.01 or f == 0 else 2
    return f"{100 * f:.{digits}f}%"


def percent_pair(a: Any, b: Any) -> tuple[str, str]:
    """Two percentages with just enough decimals that different numbers never read the same."""
    fa, fb = _num(a), _num(b)
    if fa is None or fb is None:
        return percent(a), percent(b)
    base = 1 if min(abs(fa), abs(fb)) >= 0.01 else 2
    for d in range(base, 5):
        sa, sb = percent(fa, d), percent(fb, d)
        if sa != sb or fa == fb:
            return sa, sb
    return percent(fa, 4), percent(fb, 4)


def money(v: Any, currency: str | None = "CNY") -> str:
    """3000000 → 'CNY 3,000,000' (whole units)."""
    f = _num(v)
    if f is None:
        return "—"
    return f"{currency + ' ' if currency else ''}{f:,.0f}"


def years(months: Any) -> str:
    """36 → '36 months (3.0 years)'."""
    f = _num(months)
    if f is None:
        return "—"
    return f"{f:.0f} months ({f / 12:.1f} years)"


def _plain(value: Any) -> str:
    return str(value).replace("_", " ")


def format_value(col: Column, value: Any) -> str:
    """A contract field's value in words, by the contract's type and unit."""
    if value is None or value == "":
        return "not given"
    if col.type == "boolean":
        return "yes" if value else "no"
    if col.type in ("category", "string"):
        return _plain(value) if col.type == "category" else str(value)
    if col.type == "date":
        return str(value)
    unit = col.unit or ""
    if unit == "CNY":
        return money(value)
    if unit.startswith("fraction"):
        return percent(value) + (" a year" if "per year" in unit else "")
    if unit == "months":
        return years(value)
    f = _num(value)
    if f is None:
        return str(value)
    if col.type == "integer" or unit in ("count", "persons"):
        return f"{f:,.0f}" + (f" {unit}" if unit == "persons" else "")
    return f"{f:,.2f}"


def describe_record(table: str, record: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """`[{name, label, value}]` for each contract column of `table` present in `record`, in contract
    order; the label is the contract's description."""
    if not record:
        return []
    out = []
    for col in load_contract(table).columns:
        if col.name in record:
            out.append({"name": col.name, "label": col.description, "value": format_value(col, record[col.name])})
    return out


# -- the rule in a sentence ---------------------------------------------------------------------
def rule_sentence(rule: str | None, d: Mapping[str, Any], config: DecisionConfig) -> str | None:
    """The deciding rule (`models.decision.recommend`'s names) as a clause with the decision's figures
    and the policy's thresholds; None when the decision names no rule."""
    if not rule:
        return None
    pd_, el = d.get("probability_of_default"), d.get("expected_loss_rate")
    ltv, cap, grade = d.get("ltv"), d.get("ltv_cap"), d.get("grade")
    if rule == "grade_declined":
        return f"grade {grade} is a grade the policy declines"
    if rule == "grade_referred":
        return f"grade {grade} is a grade the policy refers to the credit committee"
    if rule == "pd_above_decline":
        a, b = percent_pair(pd_, config.decline_pd)
        return f"the probability of default {a} is at or above the {b} decline threshold"
    if rule == "pd_above_refer":
        a, b = percent_pair(pd_, config.refer_pd)
        return f"the probability of default {a} is at or above the {b} referral threshold"
    if rule == "el_rate_above_decline":
        a, b = percent_pair(el, config.decline_el_rate)
        return f"the expected loss rate {a} is at or above the {b} decline threshold"
    if rule == "el_rate_above_refer":
        a, b = percent_pair(el, config.refer_el_rate)
        return f"the expected loss rate {a} is above the bank's {b} appetite"
    if rule == "ltv_far_above_cap":
        far = None if _num(cap) is None else _num(cap) * (1 + config.ltv_decline_tolerance)
        a, b = percent_pair(ltv, cap)
        return (f"the loan-to-value {a} is far above the {b} cap for these patents "
                f"(more than {percent(far)}, the cap plus {config.ltv_decline_tolerance:.0%} of it)")
    if rule == "ltv_above_cap":
        a, b = percent_pair(ltv, cap)
        return f"the loan-to-value {a} is above the {b} cap for these patents"
    if rule == "within_appetite":
        parts = []
        if _num(pd_) is not None:
            parts.append(f"the probability of default {percent(pd_)} is below the {percent(config.refer_pd)} referral threshold")
        if _num(el) is not None:
            parts.append(f"the expected loss rate {percent(el)} is within the {percent(config.refer_el_rate)} appetite")
        if _num(ltv) is not None and _num(cap) is not None:
            a, b = percent_pair(ltv, cap)
            parts.append(f"the loan-to-value {a} is within the {b} cap")
        if not parts:
            return "the application is within the bank's appetite"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"rule {_plain(rule)} decided"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def counterfactual_sentence(d: Mapping[str, Any], config: DecisionConfig) -> str | None:
    """The counterfactual amount as a sentence; None when the decision carries none."""
    cf = d.get("counterfactual")
    if not isinstance(cf, Mapping):
        return None
    cur = d.get("currency") or "CNY"
    requested = d.get("exposure_at_default")
    reason, amount = cf.get("reason"), _num(cf.get("amount"))
    if amount is not None and reason == "as_requested":
        return f"The requested {money(requested, cur)} is approvable as it stands."
    if amount is not None:
        return (f"The loan would be approvable at {money(amount, cur)} instead of the {money(requested, cur)} requested "
                f"(loan-to-value {percent(cf.get('ltv'))}, probability of default {percent(cf.get('probability_of_default'))}).")
    why = rule_sentence(reason, {**d, "probability_of_default": cf.get("probability_of_default"),
                                 "expected_loss_rate": cf.get("expected_loss_rate")}, config)
    return "No smaller amount would be approved" + (f": even at a fraction of the request {why}." if why else ".")


# -- the whole decision --------------------------------------------------------------------------
def _survival(row: Mapping[str, Any]) -> tuple[str, float] | None:
    for k in SURVIVAL_KEYS:
        if _num(row.get(k)) is not None:
            return k, float(row[k])
    for k, v in row.items():
        if ("surviv" in k or "in_force" in k) and _num(v) is not None and 0 <= float(v) <= 1:
            return k, float(v)
    return None


def _score(v: Any) -> str:
    f = _num(v)
    return "—" if f is None else f"{f:.0f}"


def _reason_value(feature: str, value: Any, units: Mapping[str, str]) -> str | None:
    f = _num(value)
    if f is None:
        return None
    unit = units.get(feature, "")
    if unit == "CNY":
        return money(f)
    if unit.startswith("fraction"):
        return percent(f)
    if unit in ("years", "year"):
        return f"{f:.1f} years"
    return f"{f:,.0f}" if float(f).is_integer() else f"{f:,.3g}"


def _figures(d: Mapping[str, Any], app: Mapping[str, Any], config: DecisionConfig) -> list[dict[str, str]]:
    cur = d.get("currency") or "CNY"
    rows: list[tuple[str, str, str | None]] = []

    def add(key: str, label: str, value: str | None) -> None:
        if value is not None and value != "—":
            rows.append((key, label, value))

    pd_ = d.get("probability_of_default")
    add("probability_of_default", "Probability of default", None if _num(pd_) is None else
        percent(pd_) + (f" (grade {d['grade']})" if d.get("grade") is not None else ""))
    add("loss_given_default", "Loss given default (after enhancements)", percent(d.get("loss_given_default")))
    add("exposure_at_default", "Exposure at default", money(d.get("exposure_at_default"), cur))
    el = d.get("expected_loss")
    add("expected_loss", "Expected loss", None if _num(el) is None else
        money(el, cur) + (f" ({percent(d.get('expected_loss_rate'))} of the exposure)" if _num(d.get("expected_loss_rate")) is not None else ""))
    if _num(d.get("ltv")) is not None:
        a, b = percent_pair(d.get("ltv"), d.get("ltv_cap"))
        add("ltv", "Loan-to-value", a + (f" (cap {b})" if _num(d.get("ltv_cap")) is not None else ""))
    add("appraised_value", "Appraised value of the pledged patents", money(d.get("appraised_value"), cur))
    mx = d.get("max_loan_amount")
    add("max_loan_amount", "Largest approvable amount", None if _num(mx) is None else
        money(mx, cur) + (f", bound by {BINDING_LIMITS.get(str(d.get('max_loan_binding')), _plain(d.get('max_loan_binding')))}"
                          if d.get("max_loan_binding") else ""))
    price = d.get("price") if isinstance(d.get("price"), Mapping) else {}
    if _num(price.get("annual_rate")) is not None:
        parts = [(k, price.get(k)) for k in ("funding_cost", "expected_loss_rate", "capital_cost", "operating_cost")]
        names = {"funding_cost": "funding", "expected_loss_rate": "expected loss", "capital_cost": "capital", "operating_cost": "operating cost"}
        detail = " + ".join(f"{names[k]} {percent(v, 2)}" for k, v in parts if _num(v) is not None)
        add("price", "Risk-based price", f"{percent(price['annual_rate'], 2)} a year" + (f" ({detail})" if detail else ""))
    loan = app.get("loan") or {}
    if _num(loan.get("term_months")) is not None:
        add("term", "Term", years(loan["term_months"]))
    if _num(loan.get("interest_rate")) is not None:
        add("interest_rate", "Interest rate asked", percent(loan["interest_rate"], 2) + " a year")
    sc = d.get("scorecard") if isinstance(d.get("scorecard"), Mapping) else None
    if sc and _num(sc.get("probability_of_default")) is not None:
        add("scorecard", "Scorecard (second opinion)", f"PD {percent(sc['probability_of_default'])}"
            + (f", {float(sc['points']):.0f} points" if _num(sc.get("points")) is not None else ""))
    return [{"key": k, "label": lab, "value": v} for k, lab, v in rows]


def _enhancements(app: Mapping[str, Any]) -> str | None:
    loan = app.get("loan") or {}
    contract = load_contract("loans")
    shares = [r for r in contract.rules if r.kind == "sum_at_most"]
    cols = [contract.column(c) for r in shares for c in r.columns]
    parts = [f"{c.description[:1].lower() + c.description[1:]}: {percent(loan.get(c.name))}" for c in cols if _num(loan.get(c.name))]
    return "; ".join(parts) if parts else None


def explain_decision(decision: Mapping[str, Any], application: Mapping[str, Any] | None = None,
                     config: DecisionConfig | None = None) -> dict[str, Any]:
    """The decision in words. Returns a JSON-ready dict:

    ``recommendation``, ``verdict`` (Approve / Refer / Decline), ``rule``, ``rule_sentence``,
    ``headline`` (verdict and rule in one sentence), ``figures`` ([{key, label, value}] with units),
    ``enhancements`` (the credit enhancements in words, or None), ``limit`` (largest amount sentence
    or None), ``reasons`` ([{feature, description, value, effect, text}]), ``counterfactual``
    (sentence or None), ``collateral`` ([{patent_id, right_type, legal, technical, economic, value,
    appraised_value, expected_liquidation_value, survival}]) and ``survival_label`` (column heading
    when any collateral row carries a survival probability, else None).
    """
    d, app = dict(decision), dict(application or {})
    cfg = config or DecisionConfig()
    cur = d.get("currency") or "CNY"
    rec = str(d.get("recommendation") or "")
    verdict = VERDICTS.get(rec, _plain(rec).capitalize() or "No recommendation")
    rule = d.get("decision_rule")
    clause = rule_sentence(rule, d, cfg)
    headline = f"{verdict}: {clause}." if clause else f"{verdict}."

    units = {s.name: s.unit for s in feature_specs()}
    reasons = []
    for r in d.get("reasons") or []:
        desc = str(r.get("description") or _plain(r.get("feature", "")))
        val = _reason_value(str(r.get("feature", "")), r.get("value"), units)
        pts, lo = _num(r.get("pd_points")), _num(r.get("log_odds"))
        effect = (f"raises the probability of default by {100 * pts:.2f} percentage points" if pts is not None
                  else f"adds {lo:+.2f} to the log-odds of default" if lo is not None else "raises the risk")
        if lo is not None and pts is not None:
            effect += f" (odds × {math.exp(lo):.2f})"
        text = desc + (f" ({val})" if val else "") + f": {effect}."
        reasons.append({"feature": r.get("feature"), "description": desc, "value": val, "effect": effect,
                        "pd_points": pts, "text": text})

    patents = {p.get("patent_id"): p for p in app.get("patents") or [] if isinstance(p, Mapping)}
    collateral, survival_label = [], None
    for c in d.get("collateral") or []:
        surv = _survival(c)
        if surv is not None:
            survival_label = "Chance the patent is still in force at the end of the loan"
        p = patents.get(c.get("patent_id"), {})
        collateral.append({
            "patent_id": c.get("patent_id"),
            "right_type": _plain(c.get("right_type") or p.get("right_type") or "—"),
            "expiry_date": p.get("expiry_date") or "—",
            "legal": _score(c.get("legal_score")), "technical": _score(c.get("technical_score")),
            "economic": _score(c.get("economic_score")), "value": _score(c.get("value_score")),
            "appraised_value": money(c.get("appraised_value"), cur),
            "expected_liquidation_value": money(c.get("expected_liquidation_value"), cur),
            "survival": None if surv is None else percent(surv[1]),
        })

    limit = None
    if _num(d.get("max_loan_amount")) is not None:
        limit = f"The largest amount within the bank's limits is {money(d['max_loan_amount'], cur)}"
        if d.get("max_loan_binding"):
            limit += f", bound by {BINDING_LIMITS.get(str(d['max_loan_binding']), _plain(d['max_loan_binding']))}"
        limit += "."
    return {
        "recommendation": rec or None, "verdict": verdict, "rule": rule, "rule_sentence": clause, "headline": headline,
        "figures": _figures(d, app, cfg), "enhancements": _enhancements(app), "limit": limit,
        "reasons": reasons, "counterfactual": counterfactual_sentence(d, cfg),
        "collateral": collateral, "survival_label": survival_label,
    }


def summary_line(decision: Mapping[str, Any], application: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One history row: firm, sector, amount, currency, recommendation, grade and PD of a decision."""
    app = application or {}
    firm, loan = app.get("firm") or {}, app.get("loan") or {}
    return {"firm_id": firm.get("firm_id"), "sector": firm.get("sector"), "loan_id": decision.get("loan_id") or loan.get("loan_id"),
            "amount": _num(loan.get("amount", decision.get("exposure_at_default"))), "currency": decision.get("currency") or loan.get("currency"),
            "recommendation": decision.get("recommendation"), "decision_rule": decision.get("decision_rule"),
            "grade": decision.get("grade"), "probability_of_default": _num(decision.get("probability_of_default"))}


def explain_many(decisions: Sequence[Mapping[str, Any]], applications: Sequence[Mapping[str, Any]],
                 config: DecisionConfig | None = None) -> list[dict[str, Any]]:
    """`explain_decision` for each (decision, application) pair."""
    return [explain_decision(d, a, config) for d, a in zip(decisions, applications)]
