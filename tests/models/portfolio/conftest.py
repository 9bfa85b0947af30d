import numpy as np
import pytest

from models.portfolio import pool_from_arrays


@pytest.fixture(scope="session")
def hetero_pool():
    """200 heterogeneous loans in three sectors, deterministic LGD."""
    rng = np.random.default_rng(11)
    n = 200
    return pool_from_arrays(rng.lognormal(0, 0.7, n) * 1e6, rng.uniform(0.01, 0.08, n), rng.uniform(0.4, 0.8, n),
                            0.0, rng.choice(["biotech", "software", "hardware"], n))


@pytest.fixture(scope="session")
def homo_pool():
    n = 200
    return pool_from_arrays(np.full(n, 1e6), 0.04, 0.6)
