"""Time windows of the monitoring job: a decision's window from its `recorded_at` (ISO-8601 UTC)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

from data_contracts.errors import InputError

Window = Literal["week", "month"]


@lru_cache(maxsize=4096)
def window_of(day: str, window: Window) -> str:
    """The window label of a day `YYYY-MM-DD`: `2026-12` (month) or `2026-W49` (ISO week)."""
    if window == "month":
        return day[:7]
    y, w, _ = dt.date.fromisoformat(day).isocalendar()
    return f"{y}-W{w:02d}"


def check_window(window: str) -> Window:
    if window not in ("week", "month"):
        raise InputError(f"monitor: --window must be 'week' or 'month', got {window!r}")
    return window  # type: ignore[return-value]


def bound(value: str | None, name: str) -> str | None:
    """A `--since` / `--until` day or time → the ISO-8601 string compared with `recorded_at`."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        t = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"monitor: {name} {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from e
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return t.isoformat(timespec="microseconds")
