"""A trust plan's pool as arrays: one entry per loan, weights as fractions of pool notional.

The pool's columns and their rules live in ``data_contracts/pool.yaml``; :func:`pool_from_frame`
validates a frame with that contract, then adds the checks only an engine needs (a non-empty pool
with positive notional).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from data_contracts import load_contract
from data_contracts.errors import PortfolioError
from data_contracts.validate import check_frame, raise_on

UNASSIGNED_SECTOR = "unassigned"
"""Sector name given to loans whose ``sector`` is missing."""


@dataclass(frozen=True, eq=False)
class Pool:
    """Loans of a pool. Arrays have shape (n_loans,).

    ``exposure_at_default`` is in ``currency``; ``probability_of_default`` (over the horizon) and
    ``loss_given_default`` (expected) are fractions; ``lgd_volatility`` is the standard deviation of
    LGD (0 = deterministic); ``sector`` holds sector names (drive sector factors).
    """

    exposure_at_default: NDArray[np.float64]
    probability_of_default: NDArray[np.float64]
    loss_given_default: NDArray[np.float64]
    lgd_volatility: NDArray[np.float64]
    sector: NDArray[np.object_]
    loan_id: NDArray[np.object_]
    currency: str = "CNY"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_loans(self) -> int:
        return int(self.exposure_at_default.shape[0])

    @property
    def notional(self) -> float:
        """Pool notional: total exposure at default, in ``currency``."""
        return float(self.exposure_at_default.sum())

    @property
    def weights(self) -> NDArray[np.float64]:
        """Each loan's exposure as a fraction of pool notional; sums to 1."""
        return self.exposure_at_default / self.notional

    @property
    def expected_loss(self) -> float:
        """Pool expected loss as a fraction of notional: sum of w * PD * LGD."""
        return float(np.sum(self.weights * self.probability_of_default * self.loss_given_default))

    @property
    def pooled_pd(self) -> float:
        """Exposure-weighted PD (the large homogeneous pool's PD)."""
        return float(np.sum(self.weights * self.probability_of_default))

    @property
    def pooled_lgd(self) -> float:
        """Loss-weighted LGD (the large homogeneous pool's LGD): EL / pooled PD; exposure-weighted if no PD."""
        pd_ = self.pooled_pd
        if pd_ > 0:
            return self.expected_loss / pd_
        return float(np.sum(self.weights * self.loss_given_default))

    def sectors(self) -> tuple[tuple[str, ...], NDArray[np.int64]]:
        """Sector names (sorted) and each loan's index into them."""
        names, codes = np.unique(self.sector.astype(str), return_inverse=True)
        return tuple(names.tolist()), codes.astype(np.int64)

    def replace(self, **changes) -> Pool:
        """A copy with some arrays replaced (stress scenarios)."""
        vals = {k: getattr(self, k) for k in ("exposure_at_default", "probability_of_default", "loss_given_default",
                                                "lgd_volatility", "sector", "loan_id", "currency")}
        vals.update(changes)
        return Pool(**vals)


def pool_from_arrays(
    exposure_at_default: ArrayLike,
    probability_of_default: ArrayLike,
    loss_given_default: ArrayLike,
    lgd_volatility: ArrayLike | None = None,
    sector: ArrayLike | None = None,
    loan_id: ArrayLike | None = None,
    currency: str = "CNY",
) -> Pool:
    """Build a :class:`Pool` from arrays (broadcast to the exposures' length) and check it is usable.

    Raises :class:`PortfolioError` for an empty pool, values outside the contract's ranges (exposure
    negative, PD or LGD outside [0, 1]) or a pool with zero notional.
    """
    ead = np.atleast_1d(np.asarray(exposure_at_default, dtype=float))
    n = ead.shape[0]

    def arr(x, default):
        return np.broadcast_to(np.asarray(default if x is None else x, dtype=float), (n,)).astype(float)

    pd_ = arr(probability_of_default, np.nan)
    lgd = arr(loss_given_default, np.nan)
    vol = np.nan_to_num(arr(lgd_volatility, 0.0), nan=0.0)
    sec = (np.full(n, UNASSIGNED_SECTOR, dtype=object) if sector is None
           else np.asarray([UNASSIGNED_SECTOR if (s is None or (isinstance(s, float) and np.isnan(s)) or s == "") else str(s)
                            for s in np.broadcast_to(np.asarray(sector, dtype=object), (n,))], dtype=object))
    ids = (np.asarray([f"loan{i}" for i in range(n)], dtype=object) if loan_id is None
           else np.asarray(loan_id, dtype=object))
    _check_ranges(ead, pd_, lgd, vol)
    return Pool(ead, pd_, lgd, vol, sec, ids, currency)


def _check_ranges(ead, pd_, lgd, vol) -> None:
    """Engine preconditions on arrays (used when arrays bypass a frame; bounds come from the contract)."""
    if ead.shape[0] == 0:
        raise PortfolioError("pool: the pool is empty (no loans)")
    contract = load_contract("pool")
    for name, values in (("exposure_at_default", ead), ("probability_of_default", pd_),
                         ("loss_given_default", lgd), ("lgd_volatility", vol)):
        col = contract.column(name)
        lo = -np.inf if col.min is None else col.min
        hi = np.inf if col.max is None else col.max
        bad = ~((values >= lo) & (values <= hi))
        if bad.any():
            ex = ", ".join(repr(float(v)) for v in values[bad][:5])
            raise PortfolioError(f"pool.{name}: rule 'range [{lo:g}, {hi:g}]' broken by {int(bad.sum())} loan(s); e.g. {ex}")
    if not ead.sum() > 0:
        raise PortfolioError("pool.exposure_at_default: rule 'positive pool notional' broken: exposures sum to 0")


def validate_pool_frame(df: pd.DataFrame) -> None:
    """Check ``df`` against the pool contract (raises :class:`ContractViolation`)."""
    raise_on(check_frame(df, load_contract("pool")))


def pool_from_frame(df: pd.DataFrame, currency: str = "CNY") -> Pool:
    """Validate a pool frame (columns as ``data_contracts/pool.yaml``) and turn it into a :class:`Pool`."""
    if len(df) == 0:
        raise PortfolioError("pool: the pool is empty (no loans)")
    df = df.copy()
    for col in load_contract("pool").columns:  # optional columns may be left out of the file
        if col.nullable and col.name not in df.columns:
            df[col.name] = None
    validate_pool_frame(df)
    get = lambda c: df[c].to_numpy() if c in df.columns else None  # noqa: E731
    vol = get("lgd_volatility")
    return pool_from_arrays(
        df["exposure_at_default"].to_numpy(float), df["probability_of_default"].to_numpy(float),
        df["loss_given_default"].to_numpy(float),
        None if vol is None else pd.to_numeric(pd.Series(vol), errors="coerce").to_numpy(float),
        get("sector"), get("loan_id"), currency,
    )
