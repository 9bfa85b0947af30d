"""Configuration of the demo-book generator (section ``demo_book`` of pipelines/iprisk.yaml)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from data_contracts.errors import ContractError
from pipelines.settings import load_section, raw_section, recovery_discount_rate


@dataclass(frozen=True)
class DemoBookConfig:
    """Knobs of the generating model; the fixed priors live in ``pipelines.demo_book_priors``.

    first_year, last_year=2018, 2024 — origination years (several, so models can be tested out of time).
    year_growth=1.15 — new borrowers grow by this factor a year (CNIPA pledge volumes grew 1.4-1.75x
      a year in 2020-2023 by amount; counts are assumed to grow more slowly, and early years must still
      hold enough defaults to train on).
    repeat_loan_rate=0.45 — Poisson mean of the further loans a firm wants after its first one; a loan
      follows the previous one's maturity, so late starters borrow once (≈1.25 loans per firm overall).
    target_default_rate=0.045 — mean unconditional PD over the loan horizon; the intercept of the
      latent default model is solved so the book hits it (see docs/demo-data.md for why 3-6%).
    asset_correlation=0.03 — Vasicek ρ of the sector-by-year factor (small: keeps the book's yearly
      default rate stable so out-of-time calibration is testable).
    pd_signal_scale=0.7 — multiplies the latent score's slope (discrimination; 0.7 gives oracle AUC ≈ 0.85).
    max_patents_per_loan=8 — 1..8 patents secure a loan.
    conservative_bank_share=0.4 — loans from banks applying per-right-type LTV caps; the rest get an
      LTV drawn in [ltv_min, ltv_max].
    ltv_min, ltv_max=0.10, 0.50 — practice starts at 10%; city guidelines cap at 50% (DOMAIN.md).
    fund_share=0.35 — loans covered by a government risk-compensation fund scheme.
    guarantee_rate=0.20, insurance_rate=0.12 — loans with a guarantee-company / IP-insurance layer.
    max_enhancement=0.80 — enhancements together cover at most 80% of the loss (the lender keeps ≥ 20%).
    sale_probability=0.40 — chance the pledged patents sell after default for an average pledge in a
      neutral year (China Technology Exchange's 2010 auction: 40% transaction ratio, DOMAIN.md).
    sale_price_mean=0.30, sale_price_concentration=4.0 — Beta-distributed sale price as a fraction of
      the patents' true value (mean, a+b) for an average pledge in a neutral year (assumption).
    recovery_years_min, recovery_years_max=0.5, 3.0 — time from default to completed recovery.
    discount_rate=0.08 — discount rate of recoveries (recovery_arithmetic.discount_rate).
    """

    first_year: int = 2018
    last_year: int = 2024
    year_growth: float = 1.15
    repeat_loan_rate: float = 0.45
    target_default_rate: float = 0.045
    asset_correlation: float = 0.03
    pd_signal_scale: float = 0.7
    max_patents_per_loan: int = 8
    conservative_bank_share: float = 0.4
    ltv_min: float = 0.10
    ltv_max: float = 0.50
    fund_share: float = 0.35
    guarantee_rate: float = 0.20
    insurance_rate: float = 0.12
    max_enhancement: float = 0.80
    sale_probability: float = 0.40
    sale_price_mean: float = 0.30
    sale_price_concentration: float = 4.0
    recovery_years_min: float = 0.5
    recovery_years_max: float = 3.0
    discount_rate: float = 0.08

    def __post_init__(self) -> None:
        problems = []
        if not 1990 <= self.first_year <= self.last_year <= 2100:
            problems.append(f"first_year {self.first_year} .. last_year {self.last_year}")
        for name in ("target_default_rate", "sale_probability", "sale_price_mean"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                problems.append(f"{name} {v} not in (0, 1)")
        for name in ("conservative_bank_share", "fund_share", "guarantee_rate", "insurance_rate", "max_enhancement"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                problems.append(f"{name} {v} not in [0, 1]")
        if not 0.0 <= self.asset_correlation < 1.0:
            problems.append(f"asset_correlation {self.asset_correlation} not in [0, 1)")
        if not 0.0 < self.ltv_min <= self.ltv_max <= 1.0:
            problems.append(f"ltv_min {self.ltv_min} / ltv_max {self.ltv_max}")
        if not 1 <= self.max_patents_per_loan <= 50:
            problems.append(f"max_patents_per_loan {self.max_patents_per_loan} not in 1..50")
        if not 0.0 <= self.recovery_years_min <= self.recovery_years_max:
            problems.append(f"recovery_years_min {self.recovery_years_min} > recovery_years_max {self.recovery_years_max}")
        if self.repeat_loan_rate < 0 or self.year_growth <= 0 or self.pd_signal_scale < 0:
            problems.append("repeat_loan_rate, year_growth and pd_signal_scale must be non-negative")
        if self.sale_price_concentration <= 0 or self.discount_rate <= -1:
            problems.append("sale_price_concentration must be > 0 and discount_rate > -1")
        if problems:
            raise ContractError("settings section 'demo_book': " + "; ".join(problems))


def load_demo_book_config() -> DemoBookConfig:
    """The config from section ``demo_book`` of the settings file; ``discount_rate`` comes from
    ``recovery_arithmetic.discount_rate`` unless the section sets it (one rate for both sides)."""
    cfg = load_section("demo_book", DemoBookConfig)
    if "discount_rate" not in raw_section("demo_book"):
        cfg = dataclasses.replace(cfg, discount_rate=recovery_discount_rate())
    return cfg
