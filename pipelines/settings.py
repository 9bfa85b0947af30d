"""Typed, frozen configuration read from YAML in one place, overridable by environment variables.

Each component owns a frozen dataclass config with documented defaults (`models/…`, `pipelines/…`);
this module fills it from a section of the settings file (default: `pipelines/iprisk.yaml`, or the
file named by `IPRISK_CONFIG`). A single value is overridden by `IPRISK__<SECTION>__<FIELD>=value`,
e.g. `IPRISK__LIMITS__MAX_EL_RATE=0.02`; values in the environment are parsed as YAML scalars,
lists or mappings.

Nothing is taken on trust: an unknown section, an unknown key or a value of the wrong type (in the
file or in an override) raises `SettingsError` naming the section, the key, the expected type and
where the value came from. Types are checked by pydantic against the dataclass's annotations (lax
mode: "0.5" for a float is accepted, "abc" is not; YAML lists become tuples).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from data_contracts.errors import ContractError, IpriskError
from models.lgd import RecoveryArithmetic

DEFAULT_SETTINGS = Path(__file__).parent / "iprisk.yaml"
ENV_PREFIX = "IPRISK__"
T = TypeVar("T")

SECTIONS: tuple[str, ...] = (
    "recovery_arithmetic", "serving", "features", "collateral", "master_scale", "limits", "pricing",
    "decision", "explanations", "recovery", "pd_model", "scorecard", "tranches", "train", "gate",
    "demo_book", "patent_survival", "registers", "risk_directions", "monitoring", "scale",
)
"""Every section the settings file may hold (each read into its component's frozen dataclass)."""


class SettingsError(ContractError):
    """The settings file or an `IPRISK__…` override is malformed: unknown section or key, wrong type."""


def _read(path: str) -> dict[str, Any]:
    """The settings file's sections, checked; re-read when the file changes (size or mtime)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise SettingsError(f"settings file not found: {p}") from None
    return _parse(str(p), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _parse(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise SettingsError(f"settings file {p}: not valid YAML ({str(e).splitlines()[0]})") from e
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {p}: top level must be a mapping of sections")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise SettingsError(f"settings file {p}: unknown section(s) {unknown}; known: {list(SECTIONS)}")
    for name, body in data.items():
        if body is not None and not isinstance(body, dict):
            raise SettingsError(f"settings file {p}: section '{name}' must be a mapping of key: value, got {type(body).__name__}")
    return data


def home() -> Path:
    """The project's working folder for local state (registry DB, artifacts, audit log, keys):
    `IPRISK_HOME`, or the current directory."""
    return Path(os.environ.get("IPRISK_HOME", os.getcwd())).resolve()


def settings_path() -> Path:
    return Path(os.environ.get("IPRISK_CONFIG", DEFAULT_SETTINGS))


def _overrides(section: str) -> dict[str, Any]:
    prefix = f"{ENV_PREFIX}{section.upper()}__"
    out = {}
    for key, val in os.environ.items():
        if key.startswith(prefix):
            try:
                out[key[len(prefix):].lower()] = yaml.safe_load(val)
            except yaml.YAMLError as e:
                raise SettingsError(f"environment {key}: not a YAML value ({str(e).splitlines()[0]})") from e
    return out


def raw_section(section: str) -> dict[str, Any]:
    """The section's mapping from the settings file, with environment overrides applied."""
    if section not in SECTIONS:
        raise SettingsError(f"settings: unknown section {section!r}; known: {list(SECTIONS)}")
    return dict(_read(str(settings_path())).get(section) or {}) | _overrides(section)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) if typing.get_origin(tp) is None and hasattr(tp, "__name__") else str(tp).replace("typing.", "")


def load_section(section: str, cls: type[T]) -> T:
    """Build the frozen dataclass `cls` from settings section `section`.

    Raises `SettingsError` for an unknown key or a value of the wrong type, naming the section, the
    key, the expected type and whether it came from the file or the environment."""
    values = raw_section(section)
    if not dataclasses.is_dataclass(cls):
        return cls(**values)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        where = ", ".join(f"{k} ({_origin(section, k)})" for k in unknown)
        raise SettingsError(f"settings section '{section}': unknown key(s) {where}; known: {sorted(names)}")
    hints = typing.get_type_hints(cls)
    try:
        return _adapter(cls).validate_python(values)
    except ValidationError as e:
        err = e.errors()[0]
        key = str(err["loc"][0]) if err.get("loc") else "?"
        expected = _type_name(hints.get(key, "?"))
        raise SettingsError(
            f"settings section '{section}', key '{key}' ({_origin(section, key)}): expected {expected}, "
            f"got {err.get('input')!r} ({err.get('msg')})"
        ) from e
    except (IpriskError, TypeError) as e:  # a config's own __post_init__ check
        raise SettingsError(f"settings section '{section}': {e}") from e


@cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def _origin(section: str, key: str) -> str:
    env = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
    return f"environment {env}" if env in os.environ else f"file {settings_path()}"


def recovery_discount_rate() -> float:
    """`recovery_arithmetic.discount_rate`: the one discount rate of recoveries (fraction per year)."""
    return float(load_section("recovery_arithmetic", RecoveryArithmetic).discount_rate)
