"""Settings of `iprisk monitor` (section ``monitoring`` of pipelines/iprisk.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_contracts.errors import ContractError
from pipelines.serving_config import state_dir
from pipelines.settings import load_section


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds and mechanics of the monitoring job.

    psi_watch, psi_act=0.10, 0.25 — PSI of the score against the reference: watch / act at or above.
    csi_watch, csi_act=0.10, 0.25 — the same bands for each feature's characteristic stability index.
    max_jeffreys_failures=1 — grades whose back-test Jeffreys test says "PD too low": more than this
      → act; some, but no more than this → watch (with ten grades, one fails at 5% by chance).
    auc_drop_watch, auc_drop_act=0.03, 0.05 — back-test AUC below the validation AUC by this much, and
      by more than 1.645 standard errors of the difference (Hanley–McNeil, both samples).
    min_backtest_loans=50, min_backtest_defaults=5 — fewer back-testable loans or defaults: no AUC
      verdict (named as "too few outcomes").
    min_window_decisions=30 — a window with fewer decisions gets no drift verdict (reported, not judged).
    horizon_months=12 — a decision is back-testable once its loan's origination date is this far past.
    bins=10 — quantile bins of the reference profile (score and each feature).
    chunk_rows=20000 — audit rows read and featurised at once (bounds memory: about 0.1 GB per chunk
      in flight at ~5 kB of JSON per decision; at most workers + 1 chunks are in flight).
    workers=2 — processes counting chunks in parallel (1: in the job's own process); chunks are
      merged in log order, so the figures do not depend on it.
    top_features=5 — drifting features named per window.
    experiment="iprisk-monitoring" — MLflow experiment of the monitoring runs.
    output_dir="" — where `latest.json` (read by the data scientist's page) and the reports go;
      empty → `<home>/.iprisk/monitoring`.
    """

    psi_watch: float = 0.10
    psi_act: float = 0.25
    csi_watch: float = 0.10
    csi_act: float = 0.25
    max_jeffreys_failures: int = 1
    auc_drop_watch: float = 0.03
    auc_drop_act: float = 0.05
    min_backtest_loans: int = 50
    min_backtest_defaults: int = 5
    min_window_decisions: int = 30
    horizon_months: int = 12
    bins: int = 10
    chunk_rows: int = 20000
    workers: int = 2
    top_features: int = 5
    experiment: str = "iprisk-monitoring"
    output_dir: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.psi_watch <= self.psi_act:
            problems.append(f"psi_watch {self.psi_watch} must be > 0 and <= psi_act {self.psi_act}")
        if not 0 < self.csi_watch <= self.csi_act:
            problems.append(f"csi_watch {self.csi_watch} must be > 0 and <= csi_act {self.csi_act}")
        if not 0 <= self.auc_drop_watch <= self.auc_drop_act:
            problems.append(f"auc_drop_watch {self.auc_drop_watch} must be in [0, auc_drop_act {self.auc_drop_act}]")
        if self.bins < 2 or self.chunk_rows < 1 or self.workers < 1 or self.top_features < 1 or self.horizon_months < 0:
            problems.append("bins >= 2, chunk_rows >= 1, workers >= 1, top_features >= 1 and horizon_months >= 0")
        if problems:
            raise ContractError("settings section 'monitoring': " + "; ".join(problems))

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir) if self.output_dir else state_dir() / "monitoring"


def load_monitoring_config() -> MonitoringConfig:
    return load_section("monitoring", MonitoringConfig)
