"""Normal-distribution helpers the engines share: bivariate normal CDF (via Owen's T) and the
one-factor conditional default probability."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri, owens_t


def bivariate_normal_cdf(h: ArrayLike, k: ArrayLike, r: ArrayLike) -> NDArray[np.float64]:
    """P(X <= h, Y <= k) for standard normals with correlation ``r`` in (-1, 1); broadcasts.

    Owen (1956): Phi2 = (Phi(h) + Phi(k))/2 - T(h, a_h) - T(k, a_k) - beta.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    h = np.where(h == 0.0, 1e-15, h)
    k = np.where(k == 0.0, 1e-15, k)
    s = np.sqrt(1.0 - r * r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ah = (k - r * h) / (h * s)
        ak = (h - r * k) / (k * s)
        beta = np.where(h * k < 0, 0.5, 0.0)
        out = 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, ah) - owens_t(k, ak) - beta
    # infinite arguments: P(X <= -inf, .) = 0; P(X <= inf, Y <= k) = Phi(k)
    out = np.where(np.isneginf(h) | np.isneginf(k), 0.0, out)
    out = np.where(np.isposinf(h) & np.isfinite(k), ndtr(k), out)
    out = np.where(np.isposinf(k) & np.isfinite(h), ndtr(h), out)
    out = np.where(np.isposinf(h) & np.isposinf(k), 1.0, out)
    return np.clip(out, 0.0, 1.0)


def default_threshold(pd_: ArrayLike) -> NDArray[np.float64]:
    """``c = Phi^-1(PD)``; -inf for PD 0, +inf for PD 1."""
    return ndtri(np.clip(np.asarray(pd_, float), 0.0, 1.0))


def conditional_pd(c: ArrayLike, rho: ArrayLike, z: ArrayLike) -> NDArray[np.float64]:
    """PD given the systematic factor ``z``: ``Phi((c - sqrt(rho) z) / sqrt(1 - rho))``; broadcasts."""
    c, rho, z = np.asarray(c, float), np.asarray(rho, float), np.asarray(z, float)
    with np.errstate(invalid="ignore"):
        x = (c - np.sqrt(rho) * z) / np.sqrt(1.0 - rho)
    x = np.where(np.isnan(x), c, x)  # c infinite
    return ndtr(x)
