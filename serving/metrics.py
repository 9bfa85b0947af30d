"""Prometheus series of the decisions, exported on BentoML's `/metrics` (through `bentoml.metrics`,
BentoML's registry, which also merges the workers' series): an operations dashboard sees the
recommendation and grade mix and the PD distribution move between monitoring runs.

- `iprisk_decisions_total{recommendation, grade}` — decisions answered (counter)
- `iprisk_decision_pd` — histogram of the PDs answered (buckets: the master scale's own edges are
  too fine for a dashboard; these are the PD levels a credit committee reads)
- `iprisk_batch_size{endpoint}` — histogram of the adaptive batchers' batch sizes (requests scored in
  one call; endpoint `decisions` or `pd`): near 1 under load means the fixed cost per call is paid
  per request
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import bentoml

PD_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20, 0.30, 0.50, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
BATCHERS = ("decisions", "pd")
"""The batchers' ``endpoint`` labels: decisions (`/v1/loans/score`, `/v1/loans/score-batch`), PD only (`/v1/pd`)."""


@cache
def _series() -> tuple[Any, Any, Any]:
    """The series, made once per process (the registry refuses a name twice)."""
    counter = bentoml.metrics.Counter(name="iprisk_decisions", documentation="Credit decisions answered, by recommendation and grade",
                                      labelnames=["recommendation", "grade"])
    hist = bentoml.metrics.Histogram(name="iprisk_decision_pd", documentation="Probability of default of the decisions answered",
                                     buckets=PD_BUCKETS)
    batch = bentoml.metrics.Histogram(name="iprisk_batch_size", documentation="Requests scored together by the adaptive batcher",
                                      labelnames=["endpoint"], buckets=BATCH_BUCKETS)
    return counter, hist, batch


def observe_batch(endpoint: str, size: int) -> None:
    """Record one batch of ``size`` requests scored together for ``endpoint``."""
    _series()[2].labels(endpoint=endpoint).observe(size)


def observe(decisions: Iterable[Mapping[str, Any]]) -> None:
    """Count decisions (dicts with `recommendation`, `grade`, `probability_of_default`)."""
    counter, hist, _ = _series()
    for d in decisions:
        counter.labels(recommendation=str(d.get("recommendation")), grade=str(d.get("grade"))).inc()
        p = d.get("probability_of_default")
        if p is not None:
            hist.observe(float(p))


def register() -> None:
    """Make the series exist from the start (so `/metrics` lists them before the first decision)."""
    batch = _series()[2]
    for endpoint in BATCHERS:
        batch.labels(endpoint=endpoint)
