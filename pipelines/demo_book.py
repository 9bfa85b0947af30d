"""The demo loan book: a synthetic, contract-conforming IP-pledge book with its ground truth.

``generate_book(n_firms, seed)`` returns the tables ``firms``, ``patents``, ``loans``, ``pledges``,
``outcomes`` and ``ground_truth`` (columns exactly as their contracts in ``data_contracts/``);
``write_book(tables, out_dir)`` writes ``<table>.parquet`` atomically plus ``manifest.json``.
Fully vectorised (numpy/pandas); deterministic for a seed (each stage draws from its own child of
``numpy.random.SeedSequence(seed)``). The generating model and the source of every figure are in
docs/demo-data.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from data_contracts import load_contract
from data_contracts.errors import InputError
from models.lgd import loss_given_default, recovered_amount
from pipelines import demo_book_priors as P
from pipelines.demo_book_collateral import DAYS_PER_YEAR, QUALITY_REFERENCE, draw_patents
from pipelines.demo_book_config import DemoBookConfig
from pipelines.demo_book_events import citation_events, in_force_probability, lapse_process, legal_events
from pipelines.demo_book_firms import draw_firms
from pipelines.demo_book_loans import (
    DAYS_PER_MONTH,
    credit_enhancements,
    interest_rate,
    loan_to_value,
    schedule_loans,
)
from pipelines.demo_book_outcomes import (
    RECOVERY_BETA,
    balance_years,
    conditional_pd,
    disposal_params,
    expected_lgd,
    pd_score,
    sector_year_factors,
    solve_intercept,
)

__all__ = ["DemoBookConfig", "GENERATOR_VERSION", "TABLES", "generate_book", "write_book", "read_manifest"]

GENERATOR_VERSION = "1.1.0"
TABLES: tuple[str, ...] = ("firms", "patents", "loans", "pledges", "outcomes", "ground_truth", "patent_citations",
                           "patent_legal_events")
# stage order; the random streams are numbered by position in STREAMS (new stages append, so older
# stages keep their draws)
STAGES: tuple[str, ...] = ("firms", "loan schedule", "patents", "dated events", "loan terms", "defaults", "disposal", "tables")
STREAMS: tuple[str, ...] = ("firms", "loan schedule", "patents", "loan terms", "defaults", "disposal", "tables", "dated events")
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called once a stage has finished (``done`` of ``total`` stages)."""


def _ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + 1..n zero-padded to at least 6 digits."""
    width = max(6, len(str(n)))
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(dtype=object)


def _dates(a: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(a, "datetime64[D]").astype("datetime64[ms]"))


def _shape(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in contract order, contract dtypes: str for strings/categories, datetime64[ms] for
    dates, int64 / float64 for numbers, bool (or nullable boolean) for booleans."""
    contract = load_contract(table)
    out = {}
    for col in contract.columns:
        s = frame[col.name]
        if col.type in ("string", "category"):
            s = s.astype("str")
        elif col.type == "integer":
            s = s.astype("int64")
        elif col.type == "number":
            s = s.astype("float64")
        elif col.type == "boolean":
            s = s.astype("boolean" if col.nullable else "bool")
        out[col.name] = s.reset_index(drop=True)
    return pd.DataFrame(out, columns=list(contract.column_names))


def generate_book(
    n_firms: int, seed: int, *, config: DemoBookConfig | None = None, progress: Progress | None = None
) -> dict[str, pd.DataFrame]:
    """Generate the demo book for ``n_firms`` borrowing firms (≈ 1.25 loans each).

    Returns {table: DataFrame} for ``TABLES``; money in CNY, rates and shares as fractions, dates as
    ``datetime64[ms]``. Same ``seed`` and ``config`` → identical tables.
    """
    if int(n_firms) < 1:
        raise InputError(f"demo book: n_firms must be at least 1, got {n_firms!r}")
    cfg = config or DemoBookConfig()
    n_firms = int(n_firms)
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    streams = {stage: np.random.default_rng(children[STREAMS.index(stage)]) for stage in STAGES}
    step = iter(range(1, len(STAGES) + 1))

    def done(stage: str) -> None:
        if progress is not None:
            progress(stage, next(step), len(STAGES))

    # firms ----------------------------------------------------------------------------------------
    fd = draw_firms(n_firms, streams["firms"])
    firms = fd.frame
    done("firms")

    # loan schedule ----------------------------------------------------------------------------------
    sched = schedule_loans(n_firms, cfg, streams["loan schedule"])
    first_orig = np.full(n_firms, np.datetime64("NaT"), "datetime64[D]")
    first_orig[sched.firm[sched.seq == 0]] = sched.origination[sched.seq == 0]
    founding = first_orig - np.round(fd.age_at_first_loan * DAYS_PER_YEAR).astype("timedelta64[D]")
    rng = streams["loan schedule"]
    appraisal_date = sched.origination - rng.integers(7, 91, len(sched)).astype("timedelta64[D]")
    done("loan schedule")

    # patents ----------------------------------------------------------------------------------------
    pd_draw = draw_patents(sched.firm, appraisal_date, firms, fd.quality, cfg, streams["patents"])
    pat = pd_draw.frame
    n_loans = len(sched)
    done("patents")

    # dated events: citations, lawsuits, invalidation requests, lapses ------------------------------
    rng = streams["dated events"]
    citations = citation_events(pd_draw, rng)
    lapse = lapse_process(pd_draw, rng)
    legal = legal_events(pd_draw, lapse, rng)
    done("dated events")

    # loan terms -------------------------------------------------------------------------------------
    rng = streams["loan terms"]
    rtype = pat["right_type"].to_numpy()
    appraised = pat["appraised_value"].to_numpy()
    cap = pd.Series(rtype).map(P.LTV_CAP_BY_TYPE).to_numpy(float)
    appraised_loan = np.bincount(pd_draw.loan, appraised, n_loans)
    capped_loan = np.bincount(pd_draw.loan, appraised * cap, n_loans)
    ltv_policy = loan_to_value(appraised_loan, capped_loan, cfg, rng)
    amount = np.maximum(np.floor(ltv_policy * appraised_loan / 1000.0) * 1000.0, 1000.0)
    guarantee, insurance, compensation = credit_enhancements(firms["region"].to_numpy()[sched.firm], cfg, rng)
    non_granted = np.bincount(pd_draw.loan, appraised * (pat["legal_status"].to_numpy() != "granted"), n_loans)
    year = sched.origination.astype("datetime64[Y]").astype(np.int64) + 1970
    done("loan terms")

    # defaults ---------------------------------------------------------------------------------------
    rng = streams["defaults"]
    x = firms.iloc[sched.firm].reset_index(drop=True)
    x["age_years"] = (sched.origination - founding[sched.firm]).astype(np.int64) / DAYS_PER_YEAR
    x["ltv"] = amount / appraised_loan
    x["amount"] = amount
    x["term_months"] = sched.term_months
    x["non_granted_share"] = non_granted / appraised_loan
    score = pd_score(x)
    b0 = solve_intercept(score, cfg.pd_signal_scale, cfg.target_default_rate)
    c = b0 + cfg.pd_signal_scale * score
    sectors = list(P.SECTOR_SHARES)
    sector_idx = pd.Index(sectors).get_indexer(x["sector"].to_numpy())
    year_idx = year - cfg.first_year
    zmat = sector_year_factors(sector_idx, year_idx, len(sectors), cfg.last_year - cfg.first_year + 1, rng)
    zmat = balance_years(zmat, c, sector_idx, year_idx, cfg.asset_correlation)
    z = zmat[sector_idx, year_idx]
    true_pd = conditional_pd(c, z, cfg.asset_correlation)
    defaulted = rng.random(n_loans) < true_pd
    bank_pd = special.ndtr(c + 0.5 * rng.standard_normal(n_loans))
    rate = interest_rate(year, bank_pd, compensation > 0)
    term_days = np.round(sched.term_months * DAYS_PER_MONTH).astype(np.int64)
    default_days = np.clip(np.round(rng.beta(2.0, 2.0, n_loans) * term_days), 1, term_days).astype("timedelta64[D]")
    done("defaults")

    # disposal ---------------------------------------------------------------------------------------
    rng = streams["disposal"]
    value_loan = np.bincount(pd_draw.loan, pd_draw.true_value, n_loans)
    quality = np.bincount(pd_draw.loan, pd_draw.true_value * pd_draw.log_quality, n_loans) / value_loan - QUALITY_REFERENCE
    disp = disposal_params(quality, z, cfg)
    kept = 1.0 - (guarantee + insurance + compensation)
    orig_p = sched.origination[pd_draw.loan]
    term_days_p = (sched.term_months * DAYS_PER_MONTH)[pd_draw.loan]

    def surviving(u: float, t: float) -> np.ndarray:
        """Share of each loan's true value in force when a default at fraction u of the term recovers t years later."""
        when = orig_p + np.round(u * term_days_p + t * DAYS_PER_YEAR).astype("timedelta64[D]")
        alive = np.bincount(pd_draw.loan, pd_draw.true_value * in_force_probability(pd_draw, lapse, when), n_loans)
        return alive / value_loan

    true_lgd = expected_lgd(amount, value_loan, disp, kept, cfg, surviving=surviving)
    mean_workout = cfg.recovery_years_min + (cfg.recovery_years_max - cfg.recovery_years_min) * RECOVERY_BETA[0] / sum(RECOVERY_BETA)
    horizon_p = orig_p + np.round(term_days_p + mean_workout * DAYS_PER_YEAR).astype("timedelta64[D]")
    true_in_force = np.bincount(pd_draw.loan, pd_draw.true_value * in_force_probability(pd_draw, lapse, horizon_p), n_loans) / value_loan
    sold = rng.random(n_loans) < disp.p_sold
    fraction = rng.beta(disp.a, disp.b)
    years = cfg.recovery_years_min + (cfg.recovery_years_max - cfg.recovery_years_min) * rng.beta(*RECOVERY_BETA, n_loans)
    rec_days = np.maximum(np.round(years * DAYS_PER_YEAR), 1).astype(np.int64)
    # the sale happens at the recovery date: rights that lapsed, were invalidated or expired by then fetch nothing
    sale_day = (sched.origination + default_days + rec_days.astype("timedelta64[D]"))[pd_draw.loan]
    ended = lapse.ended_date
    in_force = (np.isnat(ended) | (ended > sale_day)) & (pat["expiry_date"].to_numpy("datetime64[D]") > sale_day)
    value_at_sale = np.bincount(pd_draw.loan, pd_draw.true_value * in_force, n_loans)
    sold &= value_at_sale > 0  # nothing left in force: nothing to sell
    sale_price = np.round(np.where(sold, fraction * value_at_sale, 0.0), 2)
    lgd = loss_given_default(amount, sale_price, rec_days / DAYS_PER_YEAR, cfg.discount_rate, guarantee, insurance, compensation)
    recovered = np.round(recovered_amount(amount, lgd), 2)
    default_date = sched.origination + default_days
    recovery_date = default_date + rec_days.astype("timedelta64[D]")
    done("disposal")

    # a firm that defaulted does not borrow again: drop its later loans (and their pledges) ------------
    cum = pd.Series(defaulted.astype(np.int64)).groupby(sched.firm).cumsum().to_numpy()
    keep = (cum - defaulted) == 0
    order = np.flatnonzero(keep)
    order = order[np.lexsort((sched.firm[order], sched.origination[order]))]  # loan ids in origination order
    new_pos = np.full(n_loans, -1)
    new_pos[order] = np.arange(len(order))
    loan_ids = _ids("L", len(order))
    firm_ids = _ids("F", n_firms)

    firms_out = firms.copy()
    firms_out.insert(0, "firm_id", firm_ids)
    firms_out["founding_date"] = _dates(founding)

    pkeep = keep[pd_draw.loan]
    p_loan_new = new_pos[pd_draw.loan[pkeep]]
    p_order = np.argsort(p_loan_new, kind="stable")
    patents_out = pat.loc[pkeep].reset_index(drop=True).iloc[p_order].reset_index(drop=True)
    for col in ("filing_date", "grant_date", "expiry_date", "appraisal_date"):
        patents_out[col] = _dates(patents_out[col].to_numpy())
    patents_out["patent_id"] = pd_draw.patent_id[pkeep][p_order]
    patents_out["firm_id"] = firm_ids[sched.firm[pd_draw.loan[pkeep]][p_order]]

    sel = order
    d = defaulted[sel]
    loans_out = pd.DataFrame(
        {
            "loan_id": loan_ids,
            "firm_id": firm_ids[sched.firm[sel]],
            "amount": amount[sel],
            "currency": "CNY",
            "term_months": sched.term_months[sel],
            "origination_date": _dates(sched.origination[sel]),
            "interest_rate": rate[sel],
            "guarantee_share": guarantee[sel],
            "insurance_share": insurance[sel],
            "compensation_share": compensation[sel],
        }
    )
    pledges_out = pd.DataFrame({"loan_id": loan_ids[p_loan_new[p_order]], "patent_id": patents_out["patent_id"].to_numpy()})
    nat = np.datetime64("NaT")
    outcomes_out = pd.DataFrame(
        {
            "loan_id": loan_ids,
            "defaulted": d,
            "default_date": _dates(np.where(d, default_date[sel], nat)),
            "patents_sold": pd.array(np.where(d, sold[sel], False), dtype="boolean"),
            "sale_price": np.where(d, sale_price[sel], np.nan),
            "recovery_date": _dates(np.where(d, recovery_date[sel], nat)),
            "recovered_amount": np.where(d, recovered[sel], np.nan),
            "realised_lgd": np.where(d, lgd[sel], np.nan),
        }
    )
    outcomes_out.loc[~d, "patents_sold"] = pd.NA
    truth_out = pd.DataFrame(
        {
            "loan_id": loan_ids,
            "true_pd": true_pd[sel],
            "true_expected_lgd": true_lgd[sel],
            "true_in_force_share": np.clip(true_in_force[sel], 0.0, 1.0),
            "systematic_factor": z[sel],
        }
    )
    kept_rows = np.flatnonzero(pkeep)
    row_id = np.full(len(pkeep), None, dtype=object)
    row_id[kept_rows] = pd_draw.patent_id[kept_rows]
    cit = citations[pkeep[citations["row"].to_numpy()]]
    cit = cit.assign(patent_id=row_id[cit["row"].to_numpy()]).sort_values(["patent_id", "citation_date"], kind="stable")
    cit["citation_date"] = _dates(cit["citation_date"].to_numpy()).to_numpy()
    leg = legal[pkeep[legal["row"].to_numpy()]]
    leg = leg.assign(patent_id=row_id[leg["row"].to_numpy()]).sort_values(["patent_id", "event_date"], kind="stable")
    leg["event_date"] = _dates(leg["event_date"].to_numpy()).to_numpy()
    tables = {
        "firms": _shape("firms", firms_out),
        "patents": _shape("patents", patents_out),
        "loans": _shape("loans", loans_out),
        "pledges": _shape("pledges", pledges_out),
        "outcomes": _shape("outcomes", outcomes_out),
        "ground_truth": _shape("ground_truth", truth_out),
        "patent_citations": _shape("patent_citations", cit),
        "patent_legal_events": _shape("patent_legal_events", leg),
    }
    done("tables")
    return tables


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` to a temp file in ``path``'s folder, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_book(
    tables: dict[str, pd.DataFrame], out_dir: str | Path, *, seed: int | None = None, n_firms: int | None = None,
    config: DemoBookConfig | None = None,
) -> Path:
    """Write ``<table>.parquet`` for each table and ``manifest.json`` (seed, n_firms, row counts,
    generator version, config) into ``out_dir`` (created if missing); each file is written to a temp
    file in the same folder and renamed. Returns the manifest's path."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"demo book: cannot create output folder {out}: {e}") from e
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise InputError(f"demo book: tables missing from the book: {', '.join(missing)}")
    for name in TABLES:
        frame = tables[name]
        _atomic_write(out / f"{name}.parquet", lambda tmp, f=frame: f.to_parquet(tmp, index=False, engine="pyarrow"))
    manifest = {
        "generator": "iprisk demo book",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_firms": n_firms if n_firms is not None else int(len(tables["firms"])),
        "row_counts": {t: int(len(tables[t])) for t in TABLES},
        "config": _config_dict(config),
    }
    path = out / "manifest.json"
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def _config_dict(config: DemoBookConfig | None) -> dict:
    return dataclasses.asdict(config or DemoBookConfig())


def read_manifest(out_dir: str | Path) -> dict:
    """The manifest a `write_book` call left in ``out_dir``."""
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        raise InputError(f"demo book: no manifest.json in {out_dir}")
    return json.loads(path.read_text(encoding="utf-8"))
