"""The scoring facade: one code path from an application's tables to the credit decision, used by
batch scoring (`iprisk score`) and the service alike.

Per loan: PD (the PD role's champion: calibrated LightGBM or the WoE scorecard), grade (master scale), LGD (recovery model, integrated over the
disposal distribution, after enhancements), EAD (= requested amount, CNY), EL = PD × LGD × EAD,
LTV against the pledge's cap, the largest approvable amount, a risk-based price, a recommendation
with the deciding rule, reason codes (additive contributions on the log-odds: TreeSHAP for
LightGBM, coefficient × WoE for a scorecard, with the points each reason costs),
the counterfactual approvable amount, and per-patent collateral scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from data_contracts.application import application_tables, record_frame
from data_contracts.contract import load_contract
from data_contracts.errors import ModelError
from data_contracts.jsonable import jsonable
from features import feature_specs
from features.collateral_pool import pool_features
from features.patent_indicators import indicator_columns
from models.collateral import CollateralScoreConfig, ltv_cap, ltv_caps_of_loans, patent_value_scores
from models.decision import (
    DecisionConfig,
    LimitsConfig,
    MasterScale,
    PricingConfig,
    assign_grade,
    expected_loss,
    max_loan_amount,
    recommend,
    risk_based_price,
)
from models.explain import ExplanationConfig, counterfactual_amount
from models.lgd import discount_factor
from models.pledge_survival import in_force_probability, in_force_share_of_loans

RECOVERY_GROUPS = ("legal", "technical", "economic")
"""Feature groups the recovery model learns from: the collateral only (plus the sector), so LGD
depends on the loan amount through the LGD arithmetic alone, never through a learned feature."""


def recovery_feature_names(feature_names: list[str], specs: Mapping[str, Any]) -> list[str]:
    """Collateral features (legal / technical / economic groups) plus `sector_code`, in frame order."""
    return [n for n in feature_names if (n in specs and specs[n].group in RECOVERY_GROUPS) or n == "sector_code"]


@dataclass(frozen=True)
class RiskPolicy:
    """The bank's policy around the models: grades, limits, price, thresholds, collateral rules.

    ``discount_rate``: recoveries' discount rate per year. ``explanations``: reason codes per
    decision and the counterfactual's amount grid (settings section ``explanations``).
    """

    master_scale: MasterScale = field(default_factory=MasterScale)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    collateral: CollateralScoreConfig = field(default_factory=CollateralScoreConfig)
    discount_rate: float = 0.08
    explanations: ExplanationConfig = field(default_factory=ExplanationConfig)


@dataclass(frozen=True)
class Evaluation:
    """One pass over a batch: features (n, k), the decision frame (n rows), contributions (n, k+1)
    or None, collateral per pledge, LGD as a function of the amount, disposal components, and the
    loans table aligned with the features."""

    X: pd.DataFrame
    frame: pd.DataFrame
    contributions: pd.DataFrame | None
    collateral: pd.DataFrame
    lgd_function: Any
    components: pd.DataFrame
    loans: pd.DataFrame
    """The loans table indexed by loan_id in ``X``'s order."""


@dataclass
class ScoringBundle:
    """Fitted models plus policy. `versions`: registered model name → version; `metrics`: headline
    validation metrics per model name (for `GET /v1/models`). `pd_model`: whichever family holds
    the PD role (anything with `feature_names_`, `predict_pd`, additive `contributions`);
    `pd_family`: "lightgbm" or "scorecard" (a scorecard's reasons also carry `points_lost`)."""

    feature_builder: Any
    pd_model: Any
    recovery_model: Any
    policy: RiskPolicy = field(default_factory=RiskPolicy)
    scorecard: Any | None = None
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    survival_model: Any | None = None
    """Patent survival model for the lapse effect (None: the statutory fallback, models/pledge_survival.py)."""
    pd_family: str = "lightgbm"

    def __post_init__(self) -> None:
        self.specs_ = {s.name: s for s in feature_specs()}
        self.descriptions_ = {k: s.description for k, s in self.specs_.items()}
        names = list(self.feature_builder.feature_names_)
        missing = [c for c in self.pd_model.feature_names_ if c not in names]
        if missing:
            raise ModelError(f"PD model expects feature(s) {missing[:5]} that the feature builder does not produce")
        missing = [c for c in list(self.recovery_model.feature_names_in_) if c not in names]
        if missing:
            raise ModelError(f"recovery model expects feature(s) {missing[:5]} that the feature builder does not produce")

    # -- building blocks ------------------------------------------------------------------------
    def features(self, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """Loan-level feature frame (n, k) float64, indexed by loan_id."""
        return self.feature_builder.transform(tables)

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """The PD-only path: PD (n,) for a feature frame."""
        return self.pd_model.predict_pd(features[list(self.pd_model.feature_names_)])

    def collateral_table(self, tables: Mapping[str, pd.DataFrame], ind: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per pledge: loan_id, patent_id, right_type, appraised_value and the 0–100 scores."""
        ind = self.feature_builder.pledge_indicators(tables) if ind is None else ind
        scores = patent_value_scores(ind, self.policy.collateral)
        out = scores.reset_index()
        pat = tables["patents"].set_index("patent_id")
        out["right_type"] = pat["right_type"].reindex(out["patent_id"]).to_numpy()
        out["appraised_value"] = ind["appraised_value"].to_numpy(float)
        return out

    def in_force_share(self, ind: pd.DataFrame, loans: pd.DataFrame, nodes: tuple, loan_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value-weighted probability (n,) that each loan's pledged rights are in force at term +
        expected workout, the probability per pledge in ``ind``'s order); ``nodes``: the recovery
        model's disposal nodes, in ``loans``' order; ``loan_pos``: each pledge's row in ``loans``
        (m,). A loan without pledges gets 1."""
        horizon = loans["term_months"].to_numpy(float) / 12.0 + nodes[2].mean(axis=1)
        p = in_force_probability(ind, horizon[loan_pos], self.survival_model)
        share = in_force_share_of_loans(loan_pos, len(loans), ind["appraised_value"].to_numpy(float), p)
        return share, p

    def _collateral_from_indicators(self, tables: Mapping[str, pd.DataFrame], ind: pd.DataFrame, loan_pos: np.ndarray,
                                    patent_pos: np.ndarray) -> pd.DataFrame:
        """``collateral_table(tables)`` from the pledge indicators the feature pass computed already
        (``FeatureBuilder.transform_with_pledges``): ids and right types read by each pledge's row in
        the loans and patents tables (both unique), not from ``ind``'s index."""
        scores = patent_value_scores(ind, self.policy.collateral)
        return pd.DataFrame({
            "loan_id": tables["loans"]["loan_id"].to_numpy()[loan_pos],
            "patent_id": tables["patents"]["patent_id"].to_numpy()[patent_pos],
            **{c: scores[c].to_numpy() for c in scores.columns},
            "right_type": tables["patents"]["right_type"].to_numpy()[patent_pos],
            "appraised_value": ind["appraised_value"].to_numpy(float),
        })

    def _lgd_function(self, loans: pd.DataFrame, nodes: tuple, value: np.ndarray):
        """The recovery model's ``amount → LGD`` for ``loans`` from its disposal ``nodes`` (computed
        already, so no feature frame is needed) and the collateral ``value`` (CNY, (n,))."""
        return self.recovery_model.lgd_function(
            None, value, loans["guarantee_share"].to_numpy(float),
            loans["insurance_share"].to_numpy(float), loans["compensation_share"].to_numpy(float), self.policy.discount_rate,
            nodes=nodes,
        )

    # -- the decision ---------------------------------------------------------------------------
    def evaluate(self, tables: Mapping[str, pd.DataFrame], *, reasons: bool = True) -> Evaluation:
        """Everything a decision needs, each piece computed once: features, contributions, the
        disposal distribution, LGD at the requested amount, limits, price and recommendation."""
        pol = self.policy
        X, ind, loan_pos, patent_pos = self.feature_builder.transform_with_pledges(tables)
        loans = tables["loans"].set_index("loan_id")  # X's rows are the loans table's, in its order
        Xp = X[list(self.pd_model.feature_names_)]
        contrib = self.pd_model.contributions(Xp) if reasons else None
        p = self.pd_model.predict_pd(Xp)  # the model's PD, the same bits with or without reasons
        amount = loans["amount"].to_numpy(float)
        value = X["total_appraised_value"].to_numpy(float)
        coll = self._collateral_from_indicators(tables, ind, loan_pos, patent_pos)
        cap = ltv_caps_of_loans(loan_pos, len(X), coll["right_type"].to_numpy(), coll["value_score"].to_numpy(float),
                                coll["appraised_value"].to_numpy(float), pol.collateral)
        nodes = self.recovery_model.disposal_nodes(X[list(self.recovery_model.feature_names_in_)])
        # lapse: the pledge counts at its expected in-force value at term + workout (docs/collateral.md)
        share, coll["in_force_probability"] = self.in_force_share(ind, loans, nodes, loan_pos)
        surviving = value * share
        lgd_fn = self._lgd_function(loans, nodes, surviving if pol.collateral.lapse_in_lgd else value)
        lending_value = surviving if pol.collateral.ltv_on_surviving_value else value
        lgd = lgd_fn(amount)
        el = expected_loss(p, lgd, amount)
        with np.errstate(divide="ignore", invalid="ignore"):
            ltv = np.where(lending_value > 0, amount / np.where(lending_value > 0, lending_value, 1.0), np.inf)
        grade = assign_grade(p, pol.master_scale)
        limit = max_loan_amount(p, lgd_fn, lending_value, cap, pol.limits)
        price = risk_based_price(p, lgd, loans["term_months"].to_numpy(float), pol.pricing)
        rec = recommend(p, p * lgd, ltv, cap, grade, pol.decision)
        frame = pd.DataFrame({
            "loan_id": X.index.to_numpy(),
            "currency": loans["currency"].to_numpy() if "currency" in loans else "CNY",
            "probability_of_default": p,
            "grade": grade,
            "loss_given_default": lgd,
            "exposure_at_default": amount,
            "expected_loss": el,
            "expected_loss_rate": p * lgd,
            "appraised_value": value,
            "ltv": ltv,
            "ltv_cap": cap,
            "max_loan_amount": limit.amount,
            "max_loan_binding": limit.binding,
            "annual_rate": price["annual_rate"].to_numpy(),
            "recommendation": rec.decision,
            "decision_rule": rec.rule,
            **{f"price_{c}": price[c].to_numpy()
               for c in ("funding_cost", "expected_loss_rate", "capital_cost", "operating_cost", "capital_requirement")},
        })
        comps = self.recovery_model.predict_components(None, nodes=nodes).set_axis(X.index)
        return Evaluation(X=X, frame=frame, contributions=contrib, collateral=coll, lgd_function=lgd_fn, components=comps,
                          loans=loans)

    def score_frame(self, tables: Mapping[str, pd.DataFrame], *, reasons: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
        """Batch decision: (one row per loan, contributions or None, collateral per pledge)."""
        ev = self.evaluate(tables, reasons=reasons)
        return ev.frame, ev.contributions, ev.collateral

    def top_reason_arrays(self, contrib: pd.DataFrame, k: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The k largest positive contributions per row, vectorised: (feature names, column index
        (n, k) with -1 where fewer than k features raised the PD, log-odds (n, k), PD points (n, k))."""
        k = self.policy.explanations.top_k_reasons if k is None else k
        names = [c for c in contrib.columns.tolist() if c != "bias"]
        C = _column_values(contrib, names)
        margin = contrib.to_numpy().sum(axis=1)
        order = np.argsort(-C, axis=1)[:, :k]
        c = np.take_along_axis(C, order, axis=1)
        keep = np.cumprod(c > 0, axis=1).astype(bool)  # stop at the first contribution that does not raise the PD
        m = margin[:, None]
        points = expit(m) - expit(m - c)
        return names, np.where(keep, order, -1), c, points

    def top_reasons(self, contrib: pd.DataFrame, X: pd.DataFrame, k: int | None = None) -> list[list[dict[str, Any]]]:
        """Per row, the k features that pushed the PD up most (largest positive contributions)."""
        names, idx, C, points = self.top_reason_arrays(contrib, k)
        V = _column_values(X, names)
        factor = getattr(self.pd_model, "factor_", None) if self.pd_family == "scorecard" else None
        out = []
        for i in range(len(idx)):
            rows = []
            for r, j in enumerate(idx[i]):
                if j < 0:
                    break
                v = V[i, j]
                rows.append({
                    "feature": names[j], "description": self.descriptions_.get(names[j], names[j].replace("_", " ")),
                    "direction": "raises risk", "log_odds": float(C[i, r]), "pd_points": float(points[i, r]),
                    "value": None if np.isnan(v) else float(v),
                } | ({} if factor is None else {"points_lost": float(factor * C[i, r])}))  # below a neutral (WoE 0) bin
            out.append(rows)
        return out

    def counterfactuals(self, tables: Mapping[str, pd.DataFrame], ev: Evaluation) -> list[dict[str, Any]]:
        """The largest amount ≤ the request that would be approved, per loan (PD re-scored on a grid
        of amounts through the same feature code, interpolated in log-amount between grid points;
        LGD exact through the recovery model's disposal distribution)."""
        pol = self.policy
        loans = ev.loans
        grid = np.geomspace(1e-3, 1.0, pol.explanations.counterfactual_grid)
        n, g = len(loans), len(grid)
        req = loans["amount"].to_numpy(float)
        # the same loans at every grid amount: only the amount's features change (FeatureBuilder.at_amounts)
        X_grid = self.feature_builder.at_amounts(ev.X, tables, req[:, None] * grid[None, :], loans)
        pd_grid = self.predict_pd(X_grid).reshape(n, g)
        pd_grid = np.maximum.accumulate(pd_grid, axis=1)  # monotone in amount, as the constraints intend
        log_grid = np.log(grid)

        def score(a):
            frac = np.log(np.clip(np.asarray(a, float) / req, grid[0], 1.0))
            p = np.array([np.interp(frac[i], log_grid, pd_grid[i]) for i in range(n)])
            return p, ev.lgd_function(a)

        f = ev.frame
        cfs = counterfactual_amount(score, req, f["appraised_value"].to_numpy(float), f["ltv_cap"].to_numpy(float), pol.decision, pol.master_scale)
        return [{
            "amount": cf.amount, "ltv": cf.ltv, "reason": cf.reason, "probability_of_default": cf.probability_of_default,
            "loss_given_default": cf.loss_given_default, "expected_loss_rate": cf.el_rate,
        } for cf in cfs]

    def score(self, tables: Mapping[str, pd.DataFrame], *, counterfactual: bool = True) -> list[dict[str, Any]]:
        """JSON-ready decision per loan (see module docstring), in the loans table's order."""
        ev = self.evaluate(tables, reasons=True)
        frame, coll = ev.frame, ev.collateral
        reasons = self.top_reasons(ev.contributions, ev.X)
        cfs = self.counterfactuals(tables, ev) if counterfactual else [None] * len(frame)
        liq = _liquidation_factor(ev.components, self.policy.discount_rate)
        sc = self._scorecard_rows(ev.X) if self.scorecard is not None else None
        by_loan: dict[Any, list[dict[str, Any]]] = {}
        for r in coll.to_dict(orient="records"):  # one pass, pledges kept in order within each loan
            by_loan.setdefault(r["loan_id"], []).append(r)
        out = []
        for i, row in enumerate(frame.to_dict(orient="records")):
            pledged = by_loan.get(row["loan_id"], [])
            out.append({
                **{k: jsonable(v) for k, v in row.items() if not k.startswith("price_") and k != "annual_rate"},
                "price": {"annual_rate": row["annual_rate"], **{k[6:]: row[k] for k in row if k.startswith("price_")}},
                "reasons": reasons[i],
                "counterfactual": cfs[i],
                "scorecard": sc[i] if sc is not None else None,
                "collateral": [{
                    "patent_id": r["patent_id"], "right_type": r["right_type"],
                    "legal_score": r["legal_score"], "technical_score": r["technical_score"],
                    "economic_score": r["economic_score"], "value_score": r["value_score"],
                    "appraised_value": r["appraised_value"],
                    "expected_liquidation_value": r["appraised_value"] * liq[i] * r["in_force_probability"],
                    "in_force_probability": r["in_force_probability"],
                } for r in pledged],
            })
        return out

    def _scorecard_rows(self, X: pd.DataFrame) -> list[dict[str, float]]:
        sc = self.scorecard
        Xs = X[list(sc.feature_names_)]
        pts = sc.points(Xs)
        total = pts["total"].to_numpy(float)
        p = expit((sc.offset_ - total) / sc.factor_)  # points = offset − factor·log-odds: one WoE pass, not two
        return [{"probability_of_default": float(a), "points": float(b)} for a, b in zip(p, total)]

    def value_collateral(self, patents: pd.DataFrame, as_of: Any, sector: str | None = None) -> dict[str, Any]:
        """Patents alone (one pledge): per-patent scores, expected liquidation value, the LTV cap."""
        ind = pd.DataFrame(indicator_columns(patents, np.datetime64(pd.Timestamp(as_of), "ns"), self.feature_builder.cohorts_))
        ind.index = patents["patent_id"].to_numpy()
        scores = patent_value_scores(ind, self.policy.collateral)
        pool = pool_features({k: ind[k].to_numpy(float) for k in ind.columns}, np.zeros(len(ind), dtype=np.int64), 1)
        R = pd.DataFrame({c: pool.get(c, np.array([np.nan])) for c in list(self.recovery_model.feature_names_in_)})
        if "sector_code" in R and sector is not None:
            allowed = list(load_contract("firms").column("sector").allowed or ())
            R["sector_code"] = float(allowed.index(sector)) if sector in allowed else np.nan
        comps = self.recovery_model.predict_components(R.astype("float64"))
        factor = float(_liquidation_factor(comps, self.policy.discount_rate)[0])
        value = ind["appraised_value"].to_numpy(float)
        cap = ltv_cap(patents["right_type"].to_numpy(), scores["value_score"].to_numpy(), self.policy.collateral, value)
        return {
            "patents": [{"patent_id": pid, "right_type": rt, **{k: float(v) for k, v in s.items()}, "appraised_value": float(av),
                         "expected_liquidation_value": float(av * factor)}
                        for pid, rt, s, av in zip(ind.index, patents["right_type"], scores.to_dict(orient="records"), value)],
            "total_appraised_value": float(value.sum()),
            "expected_liquidation_value": float(value.sum() * factor),
            "probability_of_sale": float(comps["p_sell"].iloc[0]),
            "expected_price_fraction": float(comps["expected_price_fraction"].iloc[0]),
            "expected_years_to_recovery": float(comps["expected_years"].iloc[0]),
            "ltv_cap": cap,
            "max_amount_at_cap": float(cap * value.sum()),
        }


def _column_values(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """``frame[names].to_numpy(float64)`` (n, len(names)) without building the sub-frame (on one
    request's row the selection cost more than the arithmetic)."""
    pos = frame.columns.get_indexer(names)
    if (pos < 0).any():
        raise ModelError(f"scoring: frame lacks column(s) {[n for n, i in zip(names, pos) if i < 0][:5]}")
    return frame.to_numpy(np.float64)[:, pos]


def _liquidation_factor(comps: pd.DataFrame, discount_rate: float) -> np.ndarray:
    """Expected present value of the sale as a fraction of appraised value: P(sell)·E[price]·DF(E[years])."""
    price = comps["p_sell"].to_numpy(float) * comps["expected_price_fraction"].to_numpy(float)
    return price * discount_factor(comps["expected_years"].to_numpy(float), discount_rate)


# -- JSON applications in, JSON decisions out (the service, batch scoring of JSON, audit replay) ----
def score_applications(bundle: Any, apps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decisions for filled, checked applications (`data_contracts.application`), in request order."""
    out = bundle.score(application_tables(apps))
    by_id = {str(d["loan_id"]): d for d in out}
    return [jsonable(by_id[str(a["loan"]["loan_id"])]) for a in apps]


def value_patents(bundle: Any, patents: Sequence[Mapping[str, Any]], as_of: str | dt.date | None) -> dict[str, Any]:
    """Per-patent value scores, expected liquidation value and LTV cap of checked patent records,
    valued on `as_of` (default: today)."""
    when = pd.Timestamp(as_of or dt.date.today())
    return jsonable(bundle.value_collateral(record_frame("patents", patents), when))
