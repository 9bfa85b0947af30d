"""Batch scoring with the champion models: a loan book (or a JSON file of applications) in, one row
per loan out (PD, grade, LGD, EAD, EL, max loan, price, decision, reason codes), and the trust-plan
pool built from a book for the tranche engine.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import load_contract
from data_contracts.application import application_tables, check_applications, fill_application
from data_contracts.errors import InputError
from data_contracts.validate import check_frame, raise_on
from pipelines.readers import read_table
from pipelines.registry import load_bundle
from pipelines.report import atomic_write

REASON_COLUMNS = 3
CHUNK_LOANS = 10_000
SCORING_TABLES = ("firms", "patents", "loans", "pledges")


def read_applications(path: Path) -> dict[str, pd.DataFrame]:
    """Tables from a loan-book folder, or from a JSON file of applications ({firm, patents, loan})."""
    if path.is_dir():
        tables = {}
        for t in SCORING_TABLES:  # outcomes are not needed to score
            f = next((path / f"{t}{sfx}" for sfx in (".parquet", ".csv") if (path / f"{t}{sfx}").is_file()), None)
            if f is None:
                raise InputError(f"loan-book directory {path} lacks {t}.parquet (or .csv); scoring needs {', '.join(SCORING_TABLES)}")
            tables[t] = read_table(f, load_contract(t))
        raise_on([v for t, df in tables.items() for v in check_frame(df, load_contract(t), tables)])
        return tables
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"applications file {path}: cannot read JSON: {e}") from e
        apps = doc.get("applications", doc) if isinstance(doc, dict) else doc
        if isinstance(apps, dict):
            apps = [apps]
        apps = [fill_application(a, f"L{i + 1:06d}") for i, a in enumerate(apps)]
        errors = check_applications(apps, prefix_of=lambda i: f"applications[{i}].")
        if errors:
            first = errors[0]
            raise InputError(f"applications file {path}: {len(errors)} error(s); first: {first['path']}: "
                             f"rule '{first['rule']}', value {first['value']!r}")
        return application_tables(apps)
    raise InputError(f"score input {path}: expected a loan-book folder or a .json file of applications")


def chunks(tables: dict[str, pd.DataFrame], size: int = CHUNK_LOANS):
    """The tables split into batches of at most `size` loans (each with its own firms, patents, pledges),
    so the LGD integration's per-loan nodes stay within memory on large books.

    Each batch holds exactly the rows a ``Series.isin`` filter would keep, in the tables' order; the
    keys are factorised once, so splitting costs O(rows) per batch in numpy instead of a hash look-up
    of Python strings per row and batch (which made splitting a large book quadratic)."""
    loans = tables["loans"]
    if len(loans) <= size:
        yield tables
        return
    firms, patents, pledges = tables["firms"], tables["patents"], tables["pledges"]
    firm_of_row, firm_of_loan, n_firms = _shared_codes(firms["firm_id"], loans["firm_id"])
    loan_of_pledge, loan_code, n_loans = _shared_codes(pledges["loan_id"], loans["loan_id"])
    patent_of_row, patent_of_pledge, n_patents = _shared_codes(patents["patent_id"], pledges["patent_id"])
    for lo in range(0, len(loans), size):
        hi = min(lo + size, len(loans))
        pl_rows = _rows_with(loan_of_pledge, loan_code[lo:hi], n_loans)
        yield {
            "firms": firms.iloc[_rows_with(firm_of_row, firm_of_loan[lo:hi], n_firms)],
            "patents": patents.iloc[_rows_with(patent_of_row, patent_of_pledge[pl_rows], n_patents)],
            "loans": loans.iloc[lo:hi],
            "pledges": pledges.iloc[pl_rows],
        }


def _shared_codes(column: pd.Series, keys: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of ``column`` (n,) and of ``keys`` (m,) in ``column``'s vocabulary of k distinct
    values: (column codes, key codes with -1 for a key not in ``column``, k). Missing values get -1."""
    codes, uniques = pd.factorize(column)
    return codes, pd.Index(uniques).get_indexer(keys), len(uniques)


def _rows_with(codes: np.ndarray, wanted: np.ndarray, n_codes: int) -> np.ndarray:
    """Positions (ascending) of the rows whose code is among ``wanted``; code -1 never matches."""
    hit = np.zeros(n_codes + 1, dtype=bool)
    hit[wanted] = True  # -1 lands in the spare last slot …
    hit[-1] = False  # … which never matches
    return np.flatnonzero(hit[codes])


def score_tables(bundle: Any, tables: dict[str, pd.DataFrame], *, reasons: int = REASON_COLUMNS) -> pd.DataFrame:
    """One row per loan: the decision columns plus `reason_1..k` (feature names) and `reasons` (plain words)."""
    return pd.concat([_score_chunk(bundle, t, reasons) for t in chunks(tables)], ignore_index=True)


def _score_chunk(bundle: Any, tables: dict[str, pd.DataFrame], reasons: int) -> pd.DataFrame:
    ev = bundle.evaluate(tables, reasons=reasons > 0)
    frame = ev.frame
    if reasons > 0:
        names, idx, _, points = bundle.top_reason_arrays(ev.contributions, k=reasons)
        feature = np.array(names + [None], dtype=object)[idx]  # -1 (no reason) → None
        words = np.array([bundle.descriptions_.get(n, n.replace("_", " ")) for n in names] + [""], dtype=object)[idx]
        for j in range(idx.shape[1]):
            frame[f"reason_{j + 1}"] = feature[:, j]
        for j in range(idx.shape[1], reasons):  # fewer features than reason columns asked for
            frame[f"reason_{j + 1}"] = None
        frame["reasons"] = ["; ".join(f"{w} (+{p * 100:.2f} PD pts)" for w, p, i in zip(wr, pr, ir) if i >= 0)
                            for wr, pr, ir in zip(words, points, idx)]
    return frame


def write_scores(frame: pd.DataFrame, out: Path) -> Path:
    """Write scores as Parquet or CSV (by suffix), atomically."""
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"score output {out}: use a .parquet or .csv file name")
    buf = io.BytesIO()
    if suffix == ".parquet":
        frame.to_parquet(buf, index=False)
    else:
        frame.to_csv(buf, index=False)
    return atomic_write(out, buf.getvalue())


def pool_from_book(book_dir: str | Path, bundle: Any | None = None) -> pd.DataFrame:
    """The trust-plan pool of a book's loans (pool.yaml columns): EAD = amount, PD and expected LGD
    from the champion models, sector and region of the borrower."""
    tables = read_applications(Path(book_dir))
    bundle = bundle or load_bundle()
    frame = pd.concat([bundle.evaluate(t, reasons=False).frame for t in chunks(tables)], ignore_index=True)
    firms = tables["firms"].set_index("firm_id")
    loans = tables["loans"].set_index("loan_id").reindex(frame["loan_id"])
    return pd.DataFrame({
        "loan_id": frame["loan_id"].to_numpy(),
        "exposure_at_default": frame["exposure_at_default"].to_numpy(float),
        "probability_of_default": np.clip(frame["probability_of_default"].to_numpy(float), 0, 1),
        "loss_given_default": np.clip(frame["loss_given_default"].to_numpy(float), 0, 1),
        "lgd_volatility": np.nan,
        "sector": firms["sector"].reindex(loans["firm_id"]).to_numpy(),
        "region": firms["region"].reindex(loans["firm_id"]).to_numpy(),
    })
