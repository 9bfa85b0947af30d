"""Typed, frozen configuration read from YAML in one place, overridable by environment variables.

Each `models/` module owns a frozen dataclass config with documented defaults; this module fills
it from a section of the settings file (default: `pipelines/iprisk.yaml`, or the file named by
`IPRISK_CONFIG`). A single value is overridden by `IPRISK__<SECTION>__<FIELD>=value`, e.g.
`IPRISK__LIMITS__MAX_EL_RATE=0.02`. Values in the environment are parsed as YAML scalars/lists.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from data_contracts.errors import ContractError

DEFAULT_SETTINGS = Path(__file__).parent / "iprisk.yaml"
T = TypeVar("T")


@lru_cache(maxsize=8)
def _read(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ContractError(f"settings file not found: {p}")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ContractError(f"settings file {p}: top level must be a mapping of sections")
    return data


def settings_path() -> Path:
    return Path(os.environ.get("IPRISK_CONFIG", DEFAULT_SETTINGS))


def raw_section(section: str) -> dict[str, Any]:
    """The section's mapping from the settings file, with environment overrides applied."""
    values = dict(_read(str(settings_path())).get(section) or {})
    prefix = f"IPRISK__{section.upper()}__"
    for key, val in os.environ.items():
        if key.startswith(prefix):
            values[key[len(prefix):].lower()] = yaml.safe_load(val)
    return values


def load_section(section: str, cls: type[T]) -> T:
    """Build the frozen dataclass `cls` from settings section `section` (unknown keys are an error)."""
    values = raw_section(section)
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ContractError(f"settings section '{section}': unknown key(s) {unknown}; known: {sorted(names)}")
        for f in dataclasses.fields(cls):  # lists from YAML become tuples for frozen configs
            if isinstance(values.get(f.name), list):
                values[f.name] = tuple(values[f.name])
    return cls(**values)


def recovery_discount_rate() -> float:
    """`recovery_arithmetic.discount_rate`: the one discount rate of recoveries (fraction per year)."""
    from models.lgd import RecoveryArithmetic

    return float(load_section("recovery_arithmetic", RecoveryArithmetic).discount_rate)
