"""The bank's policy around the models, read from the settings: grades, limits, price, decision
thresholds, collateral rules, explanations and the recoveries' discount rate."""

from __future__ import annotations

from models.collateral import CollateralScoreConfig
from models.decision import DecisionConfig, LimitsConfig, MasterScale, PricingConfig
from models.explain import ExplanationConfig
from models.scoring import RiskPolicy
from pipelines.settings import load_section, recovery_discount_rate


def load_policy() -> RiskPolicy:
    """`RiskPolicy` from the sections master_scale, limits, pricing, decision, collateral,
    explanations and recovery_arithmetic of the settings file."""
    return RiskPolicy(
        master_scale=load_section("master_scale", MasterScale),
        limits=load_section("limits", LimitsConfig),
        pricing=load_section("pricing", PricingConfig),
        decision=load_section("decision", DecisionConfig),
        collateral=load_section("collateral", CollateralScoreConfig),
        explanations=load_section("explanations", ExplanationConfig),
        discount_rate=recovery_discount_rate(),
    )
