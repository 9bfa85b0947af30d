"""Loss-given-default arithmetic shared by the demo book (which realises it) and the recovery model
(which predicts it), so both sides of the yardstick use one definition.

A defaulted loan's exposure is ``exposure_at_default`` (currency). The pledged patents are sold for
``sale_proceeds`` (0 if unsold) after ``years_to_recovery``; proceeds are discounted to the default
date at ``discount_rate`` (fraction per year). The gross loss left after the sale is then shared:
the guarantee company, the IP insurer and the government risk-compensation fund each cover their
share of it; the lender keeps the rest. All arguments broadcast (numpy arrays or scalars).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class RecoveryArithmetic:
    """Settings section ``recovery_arithmetic``, shared by the demo book and the recovery model.

    discount_rate: fraction per year at which recoveries are discounted to the default date (the
    lender's cost of funds plus a workout premium; default 0.08)."""

    discount_rate: float = 0.08


def enhancement_share(guarantee_share: ArrayLike, insurance_share: ArrayLike, compensation_share: ArrayLike) -> NDArray[np.float64]:
    """Fraction of the gross loss that credit enhancements absorb, in [0, 1] (shares sum to at most 1)."""
    total = np.asarray(guarantee_share, float) + np.asarray(insurance_share, float) + np.asarray(compensation_share, float)
    return np.clip(total, 0.0, 1.0)


def discount_factor(years_to_recovery: ArrayLike, discount_rate: float | ArrayLike) -> NDArray[np.float64]:
    """Present-value factor ``(1 + r) ** -t`` for recoveries ``t`` years after default."""
    t = np.maximum(np.asarray(years_to_recovery, float), 0.0)
    return np.power(1.0 + np.asarray(discount_rate, float), -t)


def loss_given_default(
    exposure_at_default: ArrayLike,
    sale_proceeds: ArrayLike,
    years_to_recovery: ArrayLike,
    discount_rate: float | ArrayLike,
    guarantee_share: ArrayLike = 0.0,
    insurance_share: ArrayLike = 0.0,
    compensation_share: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Lender's loss as a fraction of exposure, in [0, 1], after the sale and the enhancements.

    ``gross = max(EAD - proceeds * DF, 0)``; ``LGD = gross * (1 - enhancement_share) / EAD``.
    """
    ead = np.asarray(exposure_at_default, float)
    pv = np.asarray(sale_proceeds, float) * discount_factor(years_to_recovery, discount_rate)
    gross = np.maximum(ead - pv, 0.0)
    kept = 1.0 - enhancement_share(guarantee_share, insurance_share, compensation_share)
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(ead > 0, gross * kept / np.where(ead > 0, ead, 1.0), 0.0)
    return np.clip(lgd, 0.0, 1.0)


def recovered_amount(exposure_at_default: ArrayLike, lgd: ArrayLike) -> NDArray[np.float64]:
    """Present value recovered by the lender (currency): ``EAD * (1 - LGD)``."""
    return np.asarray(exposure_at_default, float) * (1.0 - np.asarray(lgd, float))
