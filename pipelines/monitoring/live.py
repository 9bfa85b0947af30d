"""Live decisions from the audit log, counted against a reference profile, chunk by chunk.

Each chunk of audit rows is parsed, its scored applications rebuilt into the scoring tables and
featurised with the model's own `FeatureBuilder` (the code that scored them), and counted per
(window, PD model version): decisions, recommendations, grades, PD bins, feature bins, PD sum.
Only the counts stay in memory, plus, when a back-test is asked for, a few numbers per decision
whose loan has a known outcome.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import orjson
import pandas as pd

from data_contracts.application import application_tables, column_frame, table_columns
from data_contracts.errors import IpriskError
from pipelines.audit_store import DecisionSlice
from pipelines.monitoring.reference import ReferenceProfile
from pipelines.monitoring.stability import bin_counts
from pipelines.monitoring.windows import Window, window_of

DECISION_ENDPOINTS = ("loans/score", "loans/score-batch")
"""Audit endpoints whose records are credit decisions."""
PD_MODEL = "iprisk-pd"
OUTPUT_FIELDS = ("probability_of_default", "grade", "recommendation", "loss_given_default")
"""The fields of a decision's outputs that the counts read (the store may trim outputs to these)."""
Chunk = list[tuple] | DecisionSlice
"""Audit rows (`pipelines.audit_store.STREAM_COLUMNS`) or a slice of the log that yields them."""


@dataclass
class Tally:
    """Counts of one (window, PD model version); adding two tallies adds their counts."""

    n: int = 0
    pd_sum: Fraction = Fraction(0)
    """Exact sum of the PDs: a window's mean PD is the same to the last bit however the log was
    chunked or split between workers (a float sum depends on the order of addition)."""
    recommendations: Counter = field(default_factory=Counter)
    grades: Counter = field(default_factory=Counter)
    score: np.ndarray | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, other: Tally) -> Tally:
        self.n += other.n
        self.pd_sum += other.pd_sum
        self.recommendations.update(other.recommendations)
        self.grades.update(other.grades)
        self.score = other.score.copy() if self.score is None else self.score + other.score
        for k, v in other.features.items():
            self.features[k] = self.features[k] + v if k in self.features else v.copy()
        return self


@dataclass
class Outcomes:
    """Per decided loan with a known outcome (back-test rows): ids, window, PD, grade, LGD, origination."""

    loan_id: list[str] = field(default_factory=list)
    window: list[str] = field(default_factory=list)
    pd: list[float] = field(default_factory=list)
    grade: list[str] = field(default_factory=list)
    lgd: list[float] = field(default_factory=list)
    origination: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"loan_id": self.loan_id, "window": self.window, "pd": self.pd, "grade": self.grade,
                             "lgd": self.lgd, "origination_date": pd.to_datetime(pd.Series(self.origination, dtype=object))})


@dataclass
class LiveCounts:
    """Everything the job keeps from the log: tallies by (window, version), skipped records, back-test rows."""

    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    outcomes: Outcomes = field(default_factory=Outcomes)
    records: int = 0


def _loads(text: str | bytes) -> Any:
    """JSON text → value: orjson (about three times the standard library on audit rows); what it
    refuses (NaN or Infinity literals, which the service never writes) is read by `json` as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _decisions(endpoint: str, inputs: Any, outputs: Any) -> list[tuple[dict, dict]]:
    if endpoint == "loans/score":
        return [(inputs, outputs)]
    return list(zip(inputs, outputs))


def _private(app: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The application with ids private to its decision (`d<k>`), so applications that share a firm or
    patent id (what-ifs, re-scores) keep their own recorded data when featurised together."""
    key = f"d{k}"
    return {"firm": {**app["firm"], "firm_id": key},
            "loan": {**app["loan"], "loan_id": key, "firm_id": key},
            "patents": [{**p, "patent_id": f"{key}.{j}", "firm_id": key} for j, p in enumerate(app["patents"])]}


class LiveCounter:
    """Counts decisions against `reference` with `feature_builder` (fitted; the PD model's `features`)."""

    def __init__(self, reference: ReferenceProfile, feature_builder: Any, features: list[str], window: Window,
                 outcome_ids: set[str] | None = None):
        self.reference = reference
        self.builder = feature_builder
        self.features = [f for f in features if f in reference.features]
        self.edges = {f: np.asarray(reference.features[f].edges) for f in self.features}
        self.score_edges = np.asarray(reference.score.edges)
        self.window = window
        self.outcome_ids = outcome_ids
        self.counts = LiveCounts()

    def add_chunk(self, chunk: Chunk) -> None:
        """Rows of `pipelines.audit_store.STREAM_COLUMNS` (JSON as text), or a slice of the log to read them from."""
        self.merge(self.count_chunk(chunk))

    def merge(self, counts: LiveCounts) -> None:
        """Add the counts of one chunk (chunks merged in log order give the same result as one pass)."""
        c = self.counts
        c.records += counts.records
        c.skipped.update(counts.skipped)
        for k, t in counts.tallies.items():
            c.tallies.setdefault(k, Tally()).add(t)
        for name in ("loan_id", "window", "pd", "grade", "lgd", "origination"):
            getattr(c.outcomes, name).extend(getattr(counts.outcomes, name))

    def count_chunk(self, chunk: Chunk) -> LiveCounts:
        """The counts of one chunk of audit rows (or of a slice, read here), on their own (nothing kept in `self.counts`)."""
        rows = chunk.rows() if isinstance(chunk, DecisionSlice) else chunk
        counts = LiveCounts()
        apps, keys, pds, grades, recs, lgds = [], [], [], [], [], []
        loads = _loads
        versions_seen: dict[str, str] = {}  # the same models answer many decisions: parse their JSON once
        windows_seen: dict[str, str] = {}
        for _request_id, recorded_at, endpoint, inputs, outputs, versions in rows:
            counts.records += 1
            try:
                pairs = _decisions(endpoint, loads(inputs), loads(outputs))
                version = versions_seen.get(versions)
                if version is None:
                    version = versions_seen[versions] = str(loads(versions).get(PD_MODEL, "?"))
            except (ValueError, TypeError, AttributeError):
                counts.skipped["unreadable record"] += 1
                continue
            day = recorded_at[:10]
            win = windows_seen.get(day)
            if win is None:
                win = windows_seen[day] = window_of(day, self.window)
            for app, out in pairs:
                p = out.get("probability_of_default") if isinstance(out, dict) else None
                if p is None or not isinstance(app, dict) or not {"firm", "loan", "patents"} <= set(app):
                    counts.skipped["decision without an application or a PD"] += 1
                    continue
                apps.append(app)
                keys.append((win, version))
                pds.append(float(p))
                grades.append(str(out.get("grade")))
                recs.append(str(out.get("recommendation")))
                lgds.append(float(out.get("loss_given_default") or np.nan))
        if not apps:
            return counts
        X = self._features(apps)
        ok = np.isfinite(X).any(axis=1) if X.size else np.zeros(len(apps), bool)
        pd_arr = np.asarray(pds)
        if self.outcome_ids is not None:
            o = counts.outcomes
            for i, app in enumerate(apps):
                lid = str(app["loan"].get("loan_id"))
                if lid in self.outcome_ids:
                    o.loan_id.append(lid)
                    o.window.append(keys[i][0])
                    o.pd.append(pds[i])
                    o.grade.append(grades[i])
                    o.lgd.append(lgds[i])
                    o.origination.append(str(app["loan"].get("origination_date")))
        groups: dict[tuple[str, str], list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        for k, idx in groups.items():
            ix = np.asarray(idx)
            t = Tally(n=len(ix), pd_sum=sum(map(Fraction, pd_arr[ix].tolist()), Fraction(0)), recommendations=Counter(recs[i] for i in idx),
                      grades=Counter(grades[i] for i in idx), score=bin_counts(pd_arr[ix], self.score_edges))
            rows_ok = ix[ok[ix]]
            for j, f in enumerate(self.features):
                t.features[f] = bin_counts(X[rows_ok, j], self.edges[f])
            counts.tallies.setdefault(k, Tally()).add(t)
        if (~ok).any():
            counts.skipped["features could not be rebuilt"] += int((~ok).sum())
        return counts

    def _features(self, apps: list[dict]) -> np.ndarray:
        """Feature matrix (n, len(self.features)) of the applications; a row of NaN where one cannot be built."""
        try:
            X = self.builder.transform(self.tables(apps))
            return X.reindex([f"d{k}" for k in range(len(apps))])[self.features].to_numpy(float)
        except (IpriskError, KeyError, ValueError, TypeError, AttributeError):
            if len(apps) == 1:
                return np.full((1, len(self.features)), np.nan)
            half = len(apps) // 2  # find the bad application(s) by halving
            return np.vstack([self._features(apps[:half]), self._features(apps[half:])])

    @staticmethod
    def tables(apps: list[dict]) -> dict[str, pd.DataFrame]:
        """The scoring tables of the applications, ids private to each decision (`d<k>`, `d<k>.<j>`):
        the frames `application_tables` gives for `_private(app, k)` of each, built column-wise in one
        pass over the chunk (a test pins them to the per-record build)."""
        cols = {t: {c: [] for c in table_columns(t)} for t in ("firms", "loans", "patents")}
        fcols, lcols, pcols = cols["firms"], cols["loans"], cols["patents"]
        f_other = [c for c in fcols if c != "firm_id"]
        l_other = [c for c in lcols if c not in ("loan_id", "firm_id")]
        p_other = [c for c in pcols if c not in ("patent_id", "firm_id")]
        pl_loan, pl_patent = [], []
        for k, a in enumerate(apps):
            key = f"d{k}"
            firm, loan = a["firm"], a["loan"]
            fcols["firm_id"].append(key)
            for c in f_other:
                fcols[c].append(firm.get(c))
            lcols["loan_id"].append(key)
            lcols["firm_id"].append(key)
            for c in l_other:
                lcols[c].append(loan.get(c))
            for j, p in enumerate(a["patents"]):
                pid = f"{key}.{j}"
                pcols["patent_id"].append(pid)
                pcols["firm_id"].append(key)
                for c in p_other:
                    pcols[c].append(p.get(c))
                pl_loan.append(key)
                pl_patent.append(pid)
        out = {t: column_frame(t, cols[t]) for t in ("firms", "patents", "loans")}
        out["pledges"] = column_frame("pledges", {"loan_id": pl_loan, "patent_id": pl_patent})
        return {t: out[t] for t in ("firms", "patents", "loans", "pledges")}


_WORKER: LiveCounter | None = None


def _start_worker(counter: LiveCounter) -> None:
    global _WORKER
    _WORKER = counter


def _count_in_worker(chunk: Chunk) -> LiveCounts:
    assert _WORKER is not None
    return _WORKER.count_chunk(chunk)


def count_chunks(counter: LiveCounter, chunks: Iterable[Chunk], workers: int = 1,
                 on_chunk: Callable[[], None] | None = None) -> None:
    """Count every chunk into `counter`, over `workers` processes when more than one chunk comes.

    A chunk is a list of audit rows or a `DecisionSlice`, which the worker reads itself: then only
    the slice's bounds cross the process boundary, not ~100 MB of JSON text per chunk.

    Chunks are merged in log order whatever the worker that counted them, so the counts (and the
    float sums, added chunk by chunk) are the same as with one process; at most `workers + 1`
    chunks are in flight, so memory stays bounded by a few chunks."""
    it = iter(chunks)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None or workers <= 1:  # one chunk, or one process: no pool to start
        for chunk in itertools.chain([first], [] if second is None else [second], it):
            counter.add_chunk(chunk)
            if on_chunk:
                on_chunk()
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    pending: deque = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker, initargs=(counter,)) as pool:
        for chunk in itertools.chain([first, second], it):
            pending.append(pool.submit(_count_in_worker, chunk))
            while len(pending) > workers:
                counter.merge(pending.popleft().result())
                if on_chunk:
                    on_chunk()
        while pending:
            counter.merge(pending.popleft().result())
            if on_chunk:
                on_chunk()


def tables_per_record(apps: list[dict]) -> dict[str, pd.DataFrame]:
    """The straightforward build of `LiveCounter.tables` (record by record), kept as its reference."""
    return application_tables([_private(a, k) for k, a in enumerate(apps)])
