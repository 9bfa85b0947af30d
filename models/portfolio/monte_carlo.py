"""Monte Carlo Gaussian copula: heterogeneous loans, sector factors, downturn LGD, bounded memory.

Per path: a global factor ``Z`` (shifted by ``factor_shift`` in a stress), sector factors
``Y_s = sqrt(tau_s) Z + sqrt(1 - tau_s) W_s`` and, for each loan, a uniform ``U``; the loan defaults
when ``U < p_i(Y_s)``, its conditional PD. Conditional PDs are tabulated once per loan on a fine
factor grid; a path takes the row of the grid point nearest its factor (a jitter of at most 0.0006
in the factor, whose bias on PDs is second order: below 1e-6 relative), so a loan-path costs one
uniform draw, a table read and a comparison instead of a normal draw and a normal CDF.

Loss given default is probit-normal, ``LGD = Phi(mu_i + s_i G)`` with ``G = -(sqrt(omega) Y_s +
sqrt(1 - omega) eta)``: it keeps the loan's expected LGD and ``lgd_volatility`` unconditionally and
rises when the factor falls (patents sell for less in a downturn). ``eta`` comes from the default
draw itself: given ``U < p``, ``U / p`` is uniform and independent of everything else.

Paths are simulated in chunks whose size follows a memory budget, each chunk with its own seed
spawned from ``seed``: :func:`plan_paths` builds a picklable plan, :func:`run_chunk` simulates one
chunk, and a runner runs them anywhere (a few threads here by default, numpy releasing the GIL;
Dask workers in ``pipelines.scale.paths``): the same seed gives the same figures whatever runs them. Variance reduction: antithetic pairs, or importance
sampling of the global factor (mean ``importance_shift``) with likelihood-ratio weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from data_contracts.errors import PortfolioError
from models.portfolio.distribution import SampledLoss
from models.portfolio.gaussian import bivariate_normal_cdf, default_threshold

VarianceReduction = Literal["none", "antithetic", "importance"]
_BYTES_PER_LOAN_PATH = 14  # uniforms, conditional PDs (float32), default flags, antithetic copies
_BYTES_PER_PATH = 40  # loss and weight (float64), plus sorting for quantiles


@dataclass(frozen=True)
class MonteCarloConfig:
    """Monte Carlo settings.

    paths: number of simulated paths (default 100,000). seed: base seed (default 7).
    variance_reduction: "none", "antithetic" or "importance" (default "none").
    importance_shift: mean of the sampled global factor under importance sampling (default -2.0;
    negative oversamples downturns, which is where senior tranches lose).
    stochastic_lgd: draw LGD around its expectation with ``lgd_volatility`` (default True).
    lgd_factor_loading: share omega of the LGD latent's variance driven by the factor (default 0.5).
    chunk_memory_mb: working memory per thread (default 64). memory_limit_mb: most memory the
    path results may take (default 1536); more paths is an error. workers: threads (default 2).
    table_points: factor grid size of the conditional-PD tables (default 16385) over
    [-factor_range, factor_range] (default 10).
    """

    paths: int = 100_000
    seed: int = 7
    variance_reduction: VarianceReduction = "none"
    importance_shift: float = -2.0
    stochastic_lgd: bool = True
    lgd_factor_loading: float = 0.5
    chunk_memory_mb: float = 64.0
    memory_limit_mb: float = 1536.0
    workers: int = 2
    table_points: int = 16385
    factor_range: float = 10.0

    def __post_init__(self) -> None:
        if self.paths < 2:
            raise PortfolioError(f"monte carlo: paths must be at least 2; got {self.paths}")
        if self.variance_reduction not in ("none", "antithetic", "importance"):
            raise PortfolioError(f"monte carlo: variance_reduction must be none, antithetic or importance; got {self.variance_reduction!r}")
        if not 0.0 <= self.lgd_factor_loading <= 1.0:
            raise PortfolioError(f"monte carlo: lgd_factor_loading must be in [0, 1]; got {self.lgd_factor_loading}")
        if self.workers < 1 or self.chunk_memory_mb <= 0 or self.table_points < 16:
            raise PortfolioError(f"monte carlo: workers >= 1, chunk_memory_mb > 0, table_points >= 16 needed; got {self}")
        need = self.paths * _BYTES_PER_PATH / 2**20
        if need > self.memory_limit_mb:
            raise PortfolioError(
                f"monte carlo: {self.paths:,} paths need about {need:,.0f} MB for path results; the memory limit is "
                f"{self.memory_limit_mb:,.0f} MB (tranches.memory_limit_mb): use at most "
                f"{int(self.memory_limit_mb * 2**20 / _BYTES_PER_PATH):,} paths")


def probit_lgd_params(mean: NDArray[np.float64], vol: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(mu, s)`` of a probit-normal LGD ``Phi(mu + s G)`` with the given mean and standard deviation.

    ``Var = Phi2(a, a; s^2 / (1 + s^2)) - mean^2`` with ``a = Phi^-1(mean)`` rises with ``s`` towards
    ``mean (1 - mean)``; ``s`` is found by bisection (capped at 30 when the volatility is out of reach).
    """
    mean, vol = np.asarray(mean, float), np.asarray(vol, float)
    inner = (mean > 0) & (mean < 1) & (vol > 0)
    a = ndtri(np.clip(mean, 1e-12, 1 - 1e-12))
    lo, hi = np.zeros_like(mean), np.full_like(mean, 30.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        var = bivariate_normal_cdf(a, a, mid**2 / (1 + mid**2)) - mean**2
        up = var < vol**2
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    s = np.where(inner, 0.5 * (lo + hi), 0.0)
    mu = np.where(mean <= 0, -np.inf, np.where(mean >= 1, np.inf, a * np.sqrt(1 + s**2)))
    return mu, s


@dataclass(frozen=True)
class _Sector:
    index: NDArray[np.int64]  # loans of this sector
    table: NDArray[np.float32]  # (G, n_s) conditional PD on the factor grid
    loss: NDArray[np.float64]  # (n_s,) w_i * E[LGD_i]
    weight: NDArray[np.float64]  # (n_s,) w_i
    mu: NDArray[np.float64]
    s: NDArray[np.float64]
    stochastic: bool
    tau: float


@dataclass(frozen=True)
class PathPlan:
    """Everything a chunk of paths needs, picklable so chunks can run in other processes or on other
    machines: per-sector conditional-PD tables, the chunk size, one spawned seed per chunk.

    ``paths`` (total, even under antithetic sampling), ``chunk`` paths per chunk, ``n_chunks``."""

    sectors: tuple[_Sector, ...]
    grid_lo: float
    grid_hi: float
    step: float
    paths: int
    chunk: int
    seeds: tuple[np.random.SeedSequence, ...]
    variance_reduction: VarianceReduction
    importance_shift: float
    factor_shift: float
    lgd_factor_loading: float

    @property
    def n_chunks(self) -> int:
        return len(self.seeds)

    def bounds(self, k: int) -> tuple[int, int]:
        """Path index range [start, stop) of chunk ``k``."""
        return k * self.chunk, min(self.paths, (k + 1) * self.chunk)


ChunkResult = tuple[int, NDArray[np.float64], NDArray[np.float64] | None]
"""(chunk index, pool losses of its paths, likelihood-ratio weights or None)."""
ChunkRunner = Callable[[PathPlan], Iterable[ChunkResult]]
"""Runs every chunk of a plan (in any order, anywhere) and yields each chunk's result as it ends."""


def plan_paths(
    weights: NDArray[np.float64],
    pd_: NDArray[np.float64],
    lgd: NDArray[np.float64],
    lgd_volatility: NDArray[np.float64],
    sector_codes: NDArray[np.int64],
    sector_rho: NDArray[np.float64],
    sector_tau: NDArray[np.float64],
    factor_shift: float = 0.0,
    config: MonteCarloConfig = MonteCarloConfig(),
) -> PathPlan:
    """The simulation plan of :func:`simulate_losses` (same arguments): tables, chunks and seeds."""
    w = np.asarray(weights, float)
    keep = (np.asarray(pd_) > 0) & (w * np.asarray(lgd) > 0)
    grid = np.linspace(-config.factor_range, config.factor_range, config.table_points)
    sectors: list[_Sector] = []
    mu_all, s_all = probit_lgd_params(np.asarray(lgd, float), np.asarray(lgd_volatility, float) if config.stochastic_lgd else np.zeros_like(w))
    for code in np.unique(sector_codes[keep]):
        idx = np.flatnonzero(keep & (sector_codes == code))
        rho = float(sector_rho[code])
        c = default_threshold(pd_[idx])
        with np.errstate(invalid="ignore"):
            x = (c[None, :] - math.sqrt(rho) * grid[:, None]) / math.sqrt(1 - rho)
        table = ndtr(np.where(np.isnan(x), c[None, :], x))
        sectors.append(_Sector(idx, table.astype(np.float32),
                               w[idx] * lgd[idx], w[idx], mu_all[idx], s_all[idx],
                               bool(np.any(s_all[idx] > 0)), float(sector_tau[code])))
    n_active = max(int(keep.sum()), 1)
    chunk = int(config.chunk_memory_mb * 2**20 / (_BYTES_PER_LOAN_PATH * n_active))
    chunk = max(64, min(chunk, 1 << 16)) // 2 * 2
    paths = config.paths + (config.paths % 2 if config.variance_reduction == "antithetic" else 0)
    n_chunks = -(-paths // chunk)
    seeds = tuple(np.random.SeedSequence(config.seed).spawn(n_chunks))
    return PathPlan(tuple(sectors), float(grid[0]), float(grid[-1]), float((grid[-1] - grid[0]) / (grid.size - 1)),
                    paths, chunk, seeds, config.variance_reduction, config.importance_shift, factor_shift,
                    config.lgd_factor_loading)


def run_chunk(plan: PathPlan, k: int) -> ChunkResult:
    """Simulate chunk ``k`` of ``plan``: its paths' pool losses (and importance weights)."""
    start, stop = plan.bounds(k)
    size = stop - start
    rng = np.random.Generator(np.random.PCG64(plan.seeds[k]))
    anti = plan.variance_reduction == "antithetic"
    half = size // 2 if anti else size
    omega = plan.lgd_factor_loading
    z = rng.standard_normal(half)
    lr = None
    if plan.variance_reduction == "importance":
        z += plan.importance_shift
        lr = np.exp(-plan.importance_shift * z + 0.5 * plan.importance_shift**2)
    if anti:
        z = np.concatenate([z, -z])
    z = z + plan.factor_shift
    out = np.zeros(size)
    for sec in plan.sectors:
        if sec.tau < 1.0:
            wz = rng.standard_normal(half)
            y = math.sqrt(sec.tau) * z + math.sqrt(1 - sec.tau) * (np.concatenate([wz, -wz]) if anti else wz)
        else:
            y = z
        j = np.rint((np.clip(y, plan.grid_lo, plan.grid_hi) - plan.grid_lo) / plan.step).astype(np.intp)
        p = sec.table[j]
        u = rng.random((half, sec.index.size), dtype=np.float32)
        if anti:
            u = np.concatenate([u, 1.0 - u])
        hit = np.less(u, p)
        if not sec.stochastic:
            out += np.einsum("ij,j->i", hit, sec.loss)
        else:
            flat = np.flatnonzero(hit)
            r, col = np.divmod(flat, sec.index.size)
            v = np.clip(u.ravel()[flat] / p.ravel()[flat], 1e-7, 1 - 1e-7).astype(np.float64)
            g = -(math.sqrt(omega) * y[r] + math.sqrt(1 - omega) * ndtri(v))
            lgd_draw = ndtr(sec.mu[col] + sec.s[col] * g)
            out += np.bincount(r, weights=sec.weight[col] * lgd_draw, minlength=size)
    if anti:  # interleave pairs: (path, its antithetic twin)
        out = np.stack([out[:half], out[half:]], axis=1).reshape(-1)
    return k, out, lr


def thread_runner(workers: int) -> ChunkRunner:
    """The local engine: chunks on ``workers`` threads of this process (numpy releases the GIL)."""

    def run(plan: PathPlan) -> Iterator[ChunkResult]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_chunk, plan, k) for k in range(plan.n_chunks)]
            for f in as_completed(futures):
                yield f.result()

    return run


def simulate_losses(
    weights: NDArray[np.float64],
    pd_: NDArray[np.float64],
    lgd: NDArray[np.float64],
    lgd_volatility: NDArray[np.float64],
    sector_codes: NDArray[np.int64],
    sector_rho: NDArray[np.float64],
    sector_tau: NDArray[np.float64],
    factor_shift: float = 0.0,
    config: MonteCarloConfig = MonteCarloConfig(),
    progress: Callable[[int], None] | None = None,
    runner: ChunkRunner | None = None,
) -> SampledLoss:
    """Simulate ``config.paths`` pool losses (fractions of notional). Loan arrays have shape (n_loans,);
    ``sector_rho``/``sector_tau`` (n_sectors,) give each sector's asset correlation and global loading.
    ``progress`` is called with the number of paths finished by each chunk. ``runner`` runs the
    chunks (default: ``config.workers`` threads); every runner gives the same figures for a seed."""
    plan = plan_paths(weights, pd_, lgd, lgd_volatility, sector_codes, sector_rho, sector_tau, factor_shift, config)
    losses = np.zeros(plan.paths)
    lr = np.ones(plan.paths) if plan.variance_reduction == "importance" else None
    done = np.zeros(plan.n_chunks, bool)
    for k, out, w in (runner or thread_runner(config.workers))(plan):
        start, stop = plan.bounds(k)
        losses[start:stop] = out
        if lr is not None:
            lr[start:stop] = w
        done[k] = True
        if progress is not None:
            progress(stop - start)
    if not done.all():
        raise PortfolioError(f"monte carlo: {int((~done).sum())} of {plan.n_chunks} path chunks did not finish")
    return SampledLoss(losses, lr, antithetic=plan.variance_reduction == "antithetic")
