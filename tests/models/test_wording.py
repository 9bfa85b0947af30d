"""The decision in words: one sentence per rule with the decision's figures and the policy's
thresholds, figures with units, reasons in full, the counterfactual as a sentence, collateral rows
(with the survival probability only when the decision carries it)."""

from __future__ import annotations

import json

import pytest

from models.decision import DecisionConfig
from models.wording import (
    describe_record,
    explain_decision,
    money,
    percent,
    percent_pair,
    rule_sentence,
    summary_line,
)

CFG = DecisionConfig(decline_pd=0.15, refer_pd=0.06, decline_el_rate=0.05, refer_el_rate=0.02, ltv_decline_tolerance=0.5)


def _decision(**kw):
    d = {
        "loan_id": "L000000001", "currency": "CNY", "probability_of_default": 0.0341, "grade": "7",
        "loss_given_default": 0.42, "exposure_at_default": 3_000_000.0, "expected_loss": 43_000.0,
        "expected_loss_rate": 0.0143, "appraised_value": 11_500_000.0, "ltv": 0.2609, "ltv_cap": 0.22,
        "max_loan_amount": 2_530_000.0, "max_loan_binding": "ltv",
        "price": {"annual_rate": 0.0612, "funding_cost": 0.025, "expected_loss_rate": 0.0143, "capital_cost": 0.0119, "operating_cost": 0.01},
        "recommendation": "refer", "decision_rule": "ltv_above_cap",
        "reasons": [{"feature": "liabilities_to_assets", "description": "Total liabilities over total assets (leverage)",
                     "direction": "raises risk", "log_odds": 0.4, "pd_points": 0.012, "value": 0.52}],
        "counterfactual": {"amount": 2_530_000.0, "ltv": 0.22, "reason": "reduced_amount", "probability_of_default": 0.033,
                           "loss_given_default": 0.4, "expected_loss_rate": 0.013},
        "scorecard": {"probability_of_default": 0.031, "points": 612.4},
        "collateral": [{"patent_id": "CN201810123456X", "right_type": "invention", "legal_score": 72.4, "technical_score": 55.0,
                        "economic_score": 61.2, "value_score": 64.9, "appraised_value": 9e6, "expected_liquidation_value": 1.2e6}],
    }
    d.update(kw)
    return d


APP = {"firm": {"firm_id": "F000123", "sector": "electronics_semiconductors", "revenue": 86e6, "high_tech_certified": True},
       "patents": [{"patent_id": "CN201810123456X", "expiry_date": "2038-03-02"}],
       "loan": {"amount": 3e6, "term_months": 36, "interest_rate": 0.045, "guarantee_share": 0.3, "insurance_share": 0.1,
                "compensation_share": 0.0}}


def test_the_brief_example_reads_as_a_sentence():
    n = explain_decision(_decision(), APP, CFG)
    assert n["headline"] == "Refer: the loan-to-value 26.1% is above the 22.0% cap for these patents."
    assert n["verdict"] == "Refer" and n["rule"] == "ltv_above_cap"


@pytest.mark.parametrize("rule,needle", [
    ("grade_declined", "grade 7 is a grade the policy declines"),
    ("pd_above_decline", "probability of default 3.4% is at or above the 15.0% decline threshold"),
    ("pd_above_refer", "probability of default 3.4% is at or above the 6.0% referral threshold"),
    ("el_rate_above_decline", "expected loss rate 1.4% is at or above the 5.0% decline threshold"),
    ("el_rate_above_refer", "expected loss rate 1.4% is above the bank's 2.0% appetite"),
    ("ltv_far_above_cap", "far above the 22.0% cap for these patents (more than 33.0%"),
    ("grade_referred", "refers to the credit committee"),
    ("within_appetite", "below the 6.0% referral threshold"),
])
def test_every_rule_of_recommend_has_a_sentence(rule, needle):
    s = rule_sentence(rule, _decision(), CFG)
    assert needle in s, s
    assert "_" not in s


def test_every_rule_name_recommend_can_return_is_worded():
    import inspect

    from models import decision

    src = inspect.getsource(decision.recommend)
    names = {w.strip('"') for w in src.replace("(", " ").replace(",", " ").split() if w.startswith('"') and w.endswith('"')}
    rules = {n for n in names if "_" in n} | {"within_appetite"}
    for r in rules:
        assert not rule_sentence(r, _decision(), CFG).startswith("rule "), r


def test_percentages_never_read_equal_when_they_differ():
    assert percent_pair(0.2204, 0.22) == ("22.04%", "22.00%")
    assert percent_pair(0.26, 0.22) == ("26.0%", "22.0%")
    assert percent(0.0041) == "0.41%" and percent(None) == "—"
    assert money(2530000.4) == "CNY 2,530,000"


def test_figures_carry_units():
    figs = {f["key"]: f["value"] for f in explain_decision(_decision(), APP, CFG)["figures"]}
    assert figs["probability_of_default"] == "3.4% (grade 7)"
    assert figs["expected_loss"] == "CNY 43,000 (1.4% of the exposure)"
    assert figs["ltv"] == "26.1% (cap 22.0%)"
    assert figs["max_loan_amount"] == "CNY 2,530,000, bound by the loan-to-value cap"
    assert figs["term"] == "36 months (3.0 years)"
    assert figs["price"].startswith("6.12% a year (funding 2.50% + expected loss 1.43%")
    assert figs["scorecard"] == "PD 3.1%, 612 points"


def test_reasons_keep_the_full_description_and_the_size():
    r = explain_decision(_decision(), APP, CFG)["reasons"][0]
    assert r["description"] == "Total liabilities over total assets (leverage)"
    assert "1.20 percentage points" in r["text"] and "odds × 1.49" in r["text"]


def test_counterfactual_sentences():
    n = explain_decision(_decision(), APP, CFG)
    assert n["counterfactual"] == ("The loan would be approvable at CNY 2,530,000 instead of the CNY 3,000,000 requested "
                                   "(loan-to-value 22.0%, probability of default 3.3%).")
    same = explain_decision(_decision(counterfactual={"amount": 3e6, "reason": "as_requested"}), APP, CFG)
    assert same["counterfactual"] == "The requested CNY 3,000,000 is approvable as it stands."
    none = explain_decision(_decision(counterfactual={"amount": None, "reason": "pd_above_refer", "probability_of_default": 0.08,
                                                      "expected_loss_rate": 0.03}), APP, CFG)
    assert none["counterfactual"].startswith("No smaller amount would be approved: even at a fraction of the request the probability of default 8.0%")
    assert explain_decision(_decision(counterfactual=None), APP, CFG)["counterfactual"] is None


def test_enhancements_use_the_contract_descriptions():
    e = explain_decision(_decision(), APP, CFG)["enhancements"]
    assert "share of the loss a guarantee company covers: 30.0%" in e and "insurance" in e
    assert "government" not in e  # a zero share is not listed


def test_survival_shown_only_when_the_decision_carries_it():
    n = explain_decision(_decision(), APP, CFG)
    assert n["survival_label"] is None and n["collateral"][0]["survival"] is None
    d = _decision()
    d["collateral"][0]["survival_probability"] = 0.934
    n = explain_decision(d, APP, CFG)
    assert n["survival_label"] and n["collateral"][0]["survival"] == "93.4%"
    d["collateral"][0] = {k: v for k, v in d["collateral"][0].items() if k != "survival_probability"} | {"p_still_in_force_at_maturity": 0.5}
    assert explain_decision(d, APP, CFG)["collateral"][0]["survival"] == "50.0%"


def test_sparse_decisions_do_not_break_and_output_is_json_and_deterministic():
    d = {"loan_id": "L1", "probability_of_default": 0.02, "recommendation": "approve"}
    n = explain_decision(d, None, CFG)
    assert n["headline"] == "Approve." and n["figures"][0]["key"] == "probability_of_default"
    full = explain_decision(_decision(), APP, CFG)
    assert json.dumps(full) == json.dumps(explain_decision(_decision(), APP, CFG))


def test_describe_record_follows_the_contract():
    rows = describe_record("firms", APP["firm"])
    assert [r["name"] for r in rows] == ["firm_id", "sector", "high_tech_certified", "revenue"]
    by = {r["name"]: r for r in rows}
    assert by["revenue"]["value"] == "CNY 86,000,000" and by["sector"]["value"] == "electronics semiconductors"
    assert by["high_tech_certified"]["value"] == "yes"
    from data_contracts import load_contract

    assert by["revenue"]["label"] == load_contract("firms").column("revenue").description
    loan = {r["name"]: r["value"] for r in describe_record("loans", APP["loan"])}
    assert loan["interest_rate"] == "4.5% a year" and loan["term_months"] == "36 months (3.0 years)"


def test_summary_line():
    s = summary_line(_decision(), APP)
    assert s == {"firm_id": "F000123", "sector": "electronics_semiconductors", "loan_id": "L000000001", "amount": 3e6,
                 "currency": "CNY", "recommendation": "refer", "decision_rule": "ltv_above_cap", "grade": "7",
                 "probability_of_default": 0.0341}
