"""Which rows train, validate and test: out of time on a loan book, a stratified hold-out on a
table without dates; and the checks that a target can be learnt at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts.contract import EVENT_TABLES
from data_contracts.errors import InputError, ModelError


@dataclass(frozen=True)
class TrainConfig:
    """How training splits and evaluates (settings section ``train``).

    - ``test_years``: the latest origination years held out as the out-of-time test set.
    - ``validation_years``: the latest *training* years used for early stopping and calibration.
    - ``byod_test_share``: hold-out share for a table without dates (stratified, seeded).
    - ``seed``: every random choice (splits, LightGBM, CV folds).
    - ``psi_bins``: bins of the population-stability index.
    - ``recalibrate_latest_year``: shift every PD candidate's log-odds so its mean PD matches the
      default rate of the latest labelled year (the test year) before the gate; off by default,
      because that year's calibration in the large is then fitted, not tested (``iprisk train
      --recalibrate`` turns it on for one run; the shift is recorded in MLflow).
    """

    test_years: int = 1
    validation_years: int = 1
    byod_test_share: float = 0.2
    seed: int = 7
    psi_bins: int = 10
    recalibrate_latest_year: bool = False


def year_split(loans: pd.DataFrame, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Masks (train, valid, test) over `loans` rows by origination year, and the test years."""
    years = pd.to_datetime(loans["origination_date"]).dt.year.to_numpy()
    uniq = sorted(set(years.tolist()))
    need = cfg.test_years + cfg.validation_years + 1
    if len(uniq) < need:
        raise InputError(
            f"loans.origination_date: out-of-time training needs at least {need} origination years "
            f"({cfg.test_years} test, {cfg.validation_years} validation, 1+ train); found {uniq}"
        )
    test_years = uniq[-cfg.test_years:]
    valid_years = uniq[-(cfg.test_years + cfg.validation_years): -cfg.test_years]
    test = np.isin(years, test_years)
    valid = np.isin(years, valid_years)
    return ~(test | valid), valid, test, test_years


def subset_book(tables: Mapping[str, pd.DataFrame], loan_ids: pd.Index) -> dict[str, pd.DataFrame]:
    """The book's tables restricted to `loan_ids` (with their pledges, patents, firms, outcomes)."""
    loans = tables["loans"][tables["loans"]["loan_id"].isin(loan_ids)]
    pledges = tables["pledges"][tables["pledges"]["loan_id"].isin(loan_ids)]
    patents = tables["patents"][tables["patents"]["patent_id"].isin(pledges["patent_id"])]
    firms = tables["firms"][tables["firms"]["firm_id"].isin(loans["firm_id"])]
    out = {"firms": firms, "patents": patents, "loans": loans, "pledges": pledges}
    for events in EVENT_TABLES:  # dated patent events, for the pledged patents
        if events in tables:
            out[events] = tables[events][tables[events]["patent_id"].isin(patents["patent_id"])]
    for extra in ("outcomes", "ground_truth"):
        if extra in tables:
            out[extra] = tables[extra][tables[extra]["loan_id"].isin(loan_ids)]
    return out


def check_target(y: np.ndarray, table: str, column: str, min_events: int) -> None:
    """Refuse a target with one class, or with fewer than `min_events` defaults."""
    classes = np.unique(y[~pd.isna(y)])
    if len(classes) < 2:
        raise ModelError(f"{table}.{column}: the target has one class only ({classes.tolist()}); a PD model needs defaults and non-defaults")
    n_pos = int(np.sum(y == 1))
    if n_pos < min_events:
        raise ModelError(f"{table}.{column}: only {n_pos} default(s) in the training rows; at least {min_events} are needed to fit and calibrate")
