"""The service's frozen configuration (section `serving` of `pipelines/iprisk.yaml`).

Every field has a documented default; `IPRISK__SERVING__<FIELD>=value` overrides one. Paths left
empty resolve under the project's local-state folder `<home>/.iprisk/` (`home` is `IPRISK_HOME`
or the current directory), which is untracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServingConfig:
    """How the scoring service runs.

    host, port: where `iprisk serve` listens (loopback by default).
    workers: BentoML API-server worker processes.
    max_batch: most applications `POST /v1/loans/score-batch` accepts in one request.
    max_patents: most patents one application (or one collateral request) may pledge.
    max_pool: most loans one `POST /v1/trust/tranches` pool may hold.
    max_paths: most Monte Carlo paths a tranche request may ask for.
    max_request_bytes: largest request body accepted (bytes); larger → 413.
    audit_url: `sqlite:///path` (WAL, synchronous=FULL) or `postgresql://…`; empty → `<home>/.iprisk/audit.db`.
    keys_file: JSON file of hashed API keys; empty → `<home>/.iprisk/api_keys.json`.
    tracking_uri: MLflow registry; empty → `MLFLOW_TRACKING_URI` or the project default.
    versions: pinned versions by registered model name (e.g. {iprisk-pd: "3"}); empty → champions.
    pd_batch_max_size, pd_batch_max_latency_ms: adaptive batching of the PD-only endpoint.
    bench_endpoints: expose `POST /v1/noop` (the benchmark's baseline); off in production.
    """

    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = 1
    max_batch: int = 100
    max_patents: int = 50
    max_pool: int = 5000
    max_paths: int = 200_000
    max_request_bytes: int = 2_000_000
    audit_url: str = ""
    keys_file: str = ""
    tracking_uri: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    pd_batch_max_size: int = 64
    pd_batch_max_latency_ms: int = 20
    bench_endpoints: bool = False

    @property
    def audit_target(self) -> str:
        """The audit store URL, with the default filled in."""
        return self.audit_url or f"sqlite:///{state_dir() / 'audit.db'}"

    @property
    def keys_path(self) -> Path:
        return Path(self.keys_file) if self.keys_file else state_dir() / "api_keys.json"


def state_dir() -> Path:
    """`<home>/.iprisk`: the untracked folder for keys and the audit log."""
    from pipelines.tracking import home

    return home() / ".iprisk"


def load_config() -> ServingConfig:
    """The `serving` section of the settings file with environment overrides applied."""
    from pipelines.settings import load_section

    cfg = load_section("serving", ServingConfig)
    if not isinstance(cfg.versions, dict):
        from data_contracts.errors import ContractError

        raise ContractError(f"settings section 'serving': versions must be a mapping name → version, got {cfg.versions!r}")
    return cfg
