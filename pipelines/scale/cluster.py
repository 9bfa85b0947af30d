"""Where distributed work runs: `process` (this process, no Dask), `local[:N]` (a Dask
`LocalCluster` of N worker processes on 127.0.0.1) or `tcp://HOST:PORT` / `tls://…` (an existing
Dask scheduler: Kubernetes, YARN, a Dask Gateway cluster's address). Settings section `scale`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from data_contracts.errors import ClusterError
from pipelines.settings import load_section


@dataclass(frozen=True)
class ScaleConfig:
    """Settings section ``scale``.

    scheduler: where `iprisk score --out DIR` and `iprisk tranches --method mc` run without
    ``--scheduler`` ("process": this process, as before; "local[:N]"; "tcp://host:port").
    partition_loans: loans per partition of a book (each partition carries its loans' pledges,
    patents and firms; ~20,000 loans keep a worker well under 1 GB). threads_per_worker: threads
    of each local worker process (1: one core each, no GIL contention). worker_memory_limit: a
    local worker is restarted above this (Dask's nanny), e.g. "2GiB". allowed_failures: times a
    partition may lose its worker before the job fails (Dask's ``allowed-failures``; local
    clusters only, a remote scheduler keeps its own). in_flight_per_worker: partitions submitted
    ahead per worker, which bounds the driver's and the workers' memory.
    worker_malloc_trim_threshold: bytes for glibc's ``MALLOC_TRIM_THRESHOLD_`` in local workers; 0
    (default) leaves glibc's adaptive default, as in a single process. Dask's own default (65536)
    switches glibc's adaptive mmap threshold off, so every numpy/pandas temporary over 128 kB is a
    fresh mmap with its page faults: a Monte Carlo path chunk took 63 ms instead of 26 ms.
    """

    scheduler: str = "process"
    partition_loans: int = 20_000
    threads_per_worker: int = 1
    worker_memory_limit: str = "2GiB"
    allowed_failures: int = 3
    in_flight_per_worker: int = 2
    worker_malloc_trim_threshold: int = 0

    def __post_init__(self) -> None:
        if (self.partition_loans < 1 or self.threads_per_worker < 1 or self.allowed_failures < 0 or self.in_flight_per_worker < 1
                or self.worker_malloc_trim_threshold < 0):
            raise ClusterError(f"settings section 'scale': partition_loans, threads_per_worker and in_flight_per_worker "
                               f"must be >= 1, allowed_failures and worker_malloc_trim_threshold >= 0; got {self}")
        parse_scheduler(self.scheduler)


def load_scale() -> ScaleConfig:
    return load_section("scale", ScaleConfig)


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler string: ``kind`` "process" | "local" | "remote"; ``workers`` for local
    (0 = one per core); ``address`` for remote."""

    kind: str
    workers: int = 0
    address: str = ""

    def __str__(self) -> str:
        return {"process": "process", "local": f"local:{self.workers}", "remote": self.address}[self.kind]


def parse_scheduler(text: str) -> Scheduler:
    """``process`` | ``local`` | ``local:N`` | ``tcp://HOST:PORT`` (also ``tls://``, ``ucx://``)."""
    t = (text or "").strip()
    if t in ("", "process"):
        return Scheduler("process")
    if t == "local" or t.startswith("local:"):
        n = t.partition(":")[2]
        if n and not (n.isdigit() and int(n) >= 1):
            raise ClusterError(f"--scheduler {text!r}: the number of local workers must be a positive integer (local:2)")
        return Scheduler("local", int(n) if n else max(os.cpu_count() or 1, 1))
    if "://" in t and t.split("://", 1)[0] in ("tcp", "tls", "ucx", "inproc") and t.split("://", 1)[1]:
        return Scheduler("remote", address=t)
    raise ClusterError(f"--scheduler {text!r}: use process, local, local:N or tcp://HOST:PORT")


@contextmanager
def dask_client(scheduler: Scheduler, cfg: ScaleConfig) -> Iterator[Any]:
    """A `distributed.Client` for `scheduler` (not "process"); a local cluster is started on
    127.0.0.1 and closed on exit. An unreachable scheduler raises ClusterError."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler.kind == "process":
        raise ClusterError("scheduler 'process' runs without Dask; no client to open")
    if scheduler.kind == "local":
        trim = cfg.worker_malloc_trim_threshold or None  # None unsets Dask's pre-spawn value
        with dask.config.set({"distributed.scheduler.allowed-failures": cfg.allowed_failures,
                              "distributed.comm.timeouts.connect": "90s",  # busy machines answer late
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": trim}):
            cluster = LocalCluster(n_workers=scheduler.workers, threads_per_worker=cfg.threads_per_worker,
                                   processes=True, host="127.0.0.1", dashboard_address=":0",
                                   memory_limit=cfg.worker_memory_limit)
            try:
                with Client(cluster) as client:
                    yield client
            finally:
                cluster.close()
        return
    try:
        client = Client(scheduler.address, timeout="20s")
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"--scheduler {scheduler.address}: no Dask scheduler answered ({e})") from e
    try:
        yield client
    finally:
        client.close()


def worker_count(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {}))
