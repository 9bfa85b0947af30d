"""Demo-book dated events: forward citations, lawsuits, invalidation requests and lapses, each with
its date, up to the register snapshot ``demo_book_priors.EVENT_SNAPSHOT``.

The patents table keeps its counts as of the appraisal date; these tables add *when* each event
happened, including events after the loan's origination (a register pulled later holds them), so
that features can be computed as of origination and a test can show that later events change
nothing. The lapse process is the ground truth behind ``ground_truth.true_in_force_share`` and the
demo book's disposal (rights that lapsed or expired before the sale fetch nothing). Dates are
``datetime64[D]``; ages and rates are in years. Generating model: docs/demo-data.md, "Dated events".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines import demo_book_priors as P
from pipelines.demo_book_collateral import DAYS_PER_YEAR, QUALITY_REFERENCE, PatentDraw

SNAPSHOT = np.datetime64(P.EVENT_SNAPSHOT, "D")


def _years(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (np.asarray(later, "datetime64[D]") - np.asarray(earlier, "datetime64[D]")).astype(np.int64) / DAYS_PER_YEAR


def _at_age(filing: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    return filing + np.floor(age_years * DAYS_PER_YEAR).astype("timedelta64[D]")


def _uniform_dates(rng: np.random.Generator, counts: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, date) for ``counts[i]`` dates uniform in [start[i], end[i]] per row i."""
    row = np.repeat(np.arange(len(counts)), counts)
    span = np.maximum((end - start).astype(np.int64), 0)[row]
    return row, start[row] + np.floor(rng.random(len(row)) * (span + 1)).astype("timedelta64[D]")


def citation_events(draw: PatentDraw, rng: np.random.Generator) -> pd.DataFrame:
    """One row per forward citation: ``row`` (patent row of ``draw``), ``citation_date``, ``self_citation``.

    The citations counted by the appraisal (``forward_citations``) are dated by the process's own
    law given their number (age a0·U^(1/1.1)); later ones arrive, up to the snapshot, at the
    patent's intensity updated on that count (the gamma mixing's posterior: shape 0.8 + k, rate
    0.8 + μ·a0^1.1), so the book's counts at appraisal keep their distribution.
    """
    f = draw.frame
    filing = f["filing_date"].to_numpy("datetime64[D]")
    a0 = _years(f["appraisal_date"].to_numpy("datetime64[D]"), filing)
    horizon = np.maximum(_years(np.full(len(f), SNAPSHOT), filing), a0)
    k = f["forward_citations"].to_numpy(np.int64)
    p = P.CITATION_AGE_POWER
    # before the appraisal: exactly the counted ones, self-citations among them as recorded
    row_past = np.repeat(np.arange(len(f)), k)
    age_past = a0[row_past] * rng.random(len(row_past)) ** (1.0 / p)
    n_self = np.rint(f["self_citation_share"].to_numpy(float) * k).astype(np.int64)
    rank = np.arange(len(row_past)) - np.repeat(np.cumsum(k) - k, k)
    self_past = rank < n_self[row_past]  # which ones are self-citations does not matter: dates are iid
    # after the appraisal, up to the snapshot
    gain = rng.gamma(0.8 + k, 1.0 / (0.8 + draw.citation_rate * a0**p))
    more = rng.poisson(draw.citation_rate * gain * (horizon**p - a0**p))
    row_new = np.repeat(np.arange(len(f)), more)
    lo, hi = a0[row_new] ** p, horizon[row_new] ** p
    age_new = (lo + rng.random(len(row_new)) * (hi - lo)) ** (1.0 / p)
    self_new = rng.random(len(row_new)) < draw.self_citation_p[row_new]
    row = np.concatenate([row_past, row_new])
    date = _at_age(filing[row], np.concatenate([age_past, age_new]))
    date = np.minimum(date, SNAPSHOT)
    return pd.DataFrame({"row": row, "citation_date": date, "self_citation": np.concatenate([self_past, self_new])})


@dataclass(frozen=True)
class LapseDraw:
    """The lapse process per patent row: ``hazard`` λ (per year at age 0, so the hazard at age a is
    λ·e^{0.10 a}), ``in_force_at_appraisal``, ``lapse_date`` (NaT if the right runs to its statutory
    expiry, or was invalidated), ``ended_date`` (lapse or invalidation date, NaT if neither)."""

    hazard: np.ndarray
    in_force_at_appraisal: np.ndarray
    lapse_date: np.ndarray
    ended_date: np.ndarray
    ended_kind: np.ndarray  # "lapsed" / "invalidated" / ""


def lapse_process(draw: PatentDraw, rng: np.random.Generator) -> LapseDraw:
    """Draw when each pledged right ends before its statutory expiry (if it does)."""
    f = draw.frame
    rtype = f["right_type"].to_numpy()
    status = f["legal_status"].to_numpy()
    filing = f["filing_date"].to_numpy("datetime64[D]")
    appraisal = f["appraisal_date"].to_numpy("datetime64[D]")
    expiry = f["expiry_date"].to_numpy("datetime64[D]")
    grant = f["grant_date"].to_numpy("datetime64[D]")
    base = pd.Series(rtype).map(P.LAPSE_BASE_HAZARD).to_numpy(float)
    sector = pd.Series(draw.sector).map(P.LAPSE_SECTOR_FACTOR).to_numpy(float)
    late = f["maintenance_fees_late"].to_numpy(float)
    hazard = base * sector * np.exp(-P.LAPSE_QUALITY_SLOPE * (draw.log_quality - QUALITY_REFERENCE)) * P.LAPSE_LATE_FEE_FACTOR**late
    kappa = P.LAPSE_AGE_SLOPE
    a0 = _years(appraisal, filing)
    e = rng.exponential(1.0, len(f))
    age_lapse = np.log(np.exp(kappa * a0) + kappa * e / hazard) / kappa
    alive = np.isin(status, ("granted", "pending"))
    lapse = _at_age(filing, np.maximum(age_lapse, a0))
    lapse = np.where(alive & (lapse < expiry), lapse, np.datetime64("NaT"))
    # rights already ended at the appraisal: dated between their grant (or filing) and the appraisal
    start = np.where(np.isnat(grant), filing, grant)
    _, past = _uniform_dates(rng, np.ones(len(f), np.int64), start, appraisal)
    ended = np.where(alive, lapse, past)
    kind = np.where(alive, np.where(np.isnat(lapse), "", "lapsed"), np.where(status == "invalidated", "invalidated", "lapsed"))
    lapse = np.where(status == "lapsed", past, lapse)
    return LapseDraw(hazard=hazard, in_force_at_appraisal=alive, lapse_date=lapse, ended_date=ended, ended_kind=kind)


def in_force_probability(draw: PatentDraw, lapse: LapseDraw, when: np.ndarray) -> np.ndarray:
    """True P(right of each patent row is in force on ``when``) given what the generator knows at
    the appraisal (its hazard, not its drawn lapse date): 0 once ended or expired; shape of ``when``
    broadcast against the rows (e.g. (n,) or (n, nodes))."""
    f = draw.frame
    filing = f["filing_date"].to_numpy("datetime64[D]")
    expiry = f["expiry_date"].to_numpy("datetime64[D]")
    a0 = _years(f["appraisal_date"].to_numpy("datetime64[D]"), filing)
    when = np.asarray(when, "datetime64[D]")
    extra = (when.ndim - 1) * (None,)
    sl = (slice(None), *extra)
    age = (when - filing[sl]).astype(np.int64) / DAYS_PER_YEAR
    k = P.LAPSE_AGE_SLOPE
    h = lapse.hazard[sl]
    s = np.exp(-h * (np.exp(k * np.maximum(age, a0[sl])) - np.exp(k * a0[sl])) / k)
    return np.where(lapse.in_force_at_appraisal[sl] & (when < expiry[sl]), s, 0.0)


def legal_events(draw: PatentDraw, lapse: LapseDraw, rng: np.random.Generator) -> pd.DataFrame:
    """One row per legal event up to the snapshot: ``row``, ``event_type`` (litigation_filed,
    invalidation_requested, lapsed, invalidated), ``event_date``.

    The counts before the appraisal are the patents table's (``litigation_count``,
    ``invalidation_requests``), dated uniformly from filing (lawsuits) or grant (requests) to the
    appraisal; later ones arrive at ``LITIGATION_RATE_PER_YEAR`` / ``INVALIDATION_RATE_PER_YEAR``
    × e^{0.5 θ} while the right is in force.
    """
    f = draw.frame
    filing = f["filing_date"].to_numpy("datetime64[D]")
    grant = f["grant_date"].to_numpy("datetime64[D]")
    appraisal = f["appraisal_date"].to_numpy("datetime64[D]")
    expiry = f["expiry_date"].to_numpy("datetime64[D]")
    end = np.minimum(expiry, SNAPSHOT)
    end = np.where(np.isnat(lapse.ended_date), end, np.minimum(end, lapse.ended_date))
    end = np.maximum(end, appraisal)
    years_after = _years(end, appraisal)
    out = []
    scale = np.exp(0.5 * draw.theta)
    for kind, col, rate, start in (
        ("litigation_filed", "litigation_count", P.LITIGATION_RATE_PER_YEAR, filing),
        ("invalidation_requested", "invalidation_requests", P.INVALIDATION_RATE_PER_YEAR, np.where(np.isnat(grant), filing, grant)),
    ):
        r1, d1 = _uniform_dates(rng, f[col].to_numpy(np.int64), start, appraisal)
        later = rng.poisson(rate * scale * years_after)
        r2, d2 = _uniform_dates(rng, later, appraisal + np.timedelta64(1, "D"), np.maximum(end, appraisal + np.timedelta64(1, "D")))
        out.append(pd.DataFrame({"row": np.concatenate([r1, r2]), "event_type": kind, "event_date": np.concatenate([d1, d2])}))
    ended = ~np.isnat(lapse.ended_date) & (lapse.ended_date <= SNAPSHOT)
    rows = np.flatnonzero(ended)
    out.append(pd.DataFrame({"row": rows, "event_type": lapse.ended_kind[rows], "event_date": lapse.ended_date[rows]}))
    return pd.concat(out, ignore_index=True)
