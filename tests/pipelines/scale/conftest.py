"""One Dask LocalCluster (2 worker processes on 127.0.0.1) for the distributed tests of a worker,
shared by the package's tests and closed at the end."""

from __future__ import annotations

from contextlib import contextmanager

import pytest


@contextmanager
def local_cluster():
    """A Dask client on a fresh 2-worker LocalCluster on 127.0.0.1, closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.comm.timeouts.connect": "90s"}):
        lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", memory_limit="2GiB")
        client = Client(lc)
        try:
            yield client
        finally:
            client.close()
            lc.close()


@pytest.fixture(scope="package")
def cluster():
    with local_cluster() as client:
        yield client


@pytest.fixture
def doomed_cluster():
    """A cluster of its own for a test that kills every worker: the shared one is left whole (waiting
    for the nannies to restart killed workers timed out on a loaded machine)."""
    with local_cluster() as client:
        yield client


@pytest.fixture(scope="module")
def book_tables(trained):
    from pipelines.batch_scoring import read_applications

    return read_applications(trained["book"])
