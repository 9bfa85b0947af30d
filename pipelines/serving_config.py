"""The service's frozen configuration (section `serving` of `pipelines/iprisk.yaml`).

It lives below `serving/` because the stores it names (audit log, key file, registry) are shared
with jobs: `iprisk audit`, `iprisk keys`, batch scoring and monitoring read the same settings.
Every field has a documented default; `IPRISK__SERVING__<FIELD>=value` overrides one. Paths left
empty resolve under the project's local-state folder `<home>/.iprisk/` (`home` is `IPRISK_HOME`
or the current directory), which is untracked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.settings import home, load_section


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
    pd_batch_max_size: most rows the adaptive batcher of the PD-only endpoint scores in one call
        (no timer: a batch is whatever queued while the previous one was scored).
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
    bench_endpoints: bool = False

    @property
    def audit_target(self) -> str:
        """The audit store URL, with the default filled in."""
        return self.audit_url or f"sqlite:///{state_dir() / 'audit.db'}"

    @property
    def keys_path(self) -> Path:
        return Path(self.keys_file) if self.keys_file else state_dir() / "api_keys.json"

    def resolved(self) -> ServingConfig:
        """The same settings with the empty paths filled in (`<home>/.iprisk/…`), so the config
        means the same thing in another process with another working directory."""
        return ServingConfig(**{**asdict(self), "audit_url": self.audit_target, "keys_file": str(self.keys_path)})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServingConfig:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


CONFIG_ENV = "IPRISK_SERVING_CONFIG"
"""Environment variable through which `iprisk serve` hands the service its frozen config (JSON)."""


def state_dir() -> Path:
    """`<home>/.iprisk`: the untracked folder for keys and the audit log."""
    return home() / ".iprisk"


def load_config() -> ServingConfig:
    """The `serving` section of the settings file with environment overrides applied."""
    return load_section("serving", ServingConfig)
