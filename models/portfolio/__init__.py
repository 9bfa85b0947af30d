"""Portfolio loss and tranche sizing for trust plans: pure functions over arrays.

Engines: :mod:`~models.portfolio.lhp` (Vasicek large pool, closed form), :mod:`~models.portfolio.finite_pool`
(exact finite pool by recursion and Gauss-Hermite quadrature), :mod:`~models.portfolio.monte_carlo`
(Gaussian copula with sector factors and downturn LGD). :func:`evaluate_pool` is the entry point the
CLI and the service share.
"""

from models.portfolio.correlation import CorrelationStructure
from models.portfolio.engine import METHODS, TrancheRequest, TrancheResult, evaluate_pool, loss_distribution
from models.portfolio.finite_pool import ExactConfig, exact_loss
from models.portfolio.lhp import VasicekLoss, basel_irb_capital
from models.portfolio.monte_carlo import MonteCarloConfig, simulate_losses
from models.portfolio.pool import Pool, pool_from_arrays, pool_from_frame
from models.portfolio.sizing import InvestorClass, size_tranches
from models.portfolio.stress import StressScenario
from models.portfolio.tranches import TrancheSpec, tranches_from_points
from models.portfolio.waterfall import Enhancement

__all__ = [
    "CorrelationStructure", "Enhancement", "ExactConfig", "InvestorClass", "METHODS", "MonteCarloConfig", "Pool",
    "StressScenario", "TrancheRequest", "TrancheResult", "TrancheSpec", "VasicekLoss", "basel_irb_capital",
    "evaluate_pool", "exact_loss", "loss_distribution", "pool_from_arrays", "pool_from_frame", "simulate_losses",
    "size_tranches", "tranches_from_points",
]
