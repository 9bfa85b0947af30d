"""The project's own exception types.

Every error a user can cause (a bad file, a bad field, a missing model) is one of these, with a
message naming the table, column, rule and a few offending values. The CLI turns them into one
line and a non-zero exit; the service into a 4xx JSON body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class IpriskError(Exception):
    """Base of every error a user can cause. ``exit_code`` is what the CLI returns."""

    exit_code: int = 1


class ContractError(IpriskError):
    """A contract file itself is malformed (bad YAML, unknown type, rule naming a missing column)."""

    exit_code = 2


class InputError(IpriskError):
    """An input file or directory is missing, unreadable, or does not match its contract's shape."""

    exit_code = 2


@dataclass(frozen=True)
class Violation:
    """One broken rule: which table, column(s) and rule, how many rows, and a few offending values."""

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[Any, ...] = field(default_factory=tuple)
    row_ids: tuple[Any, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        ex = ", ".join(_short(repr(e), 200) for e in self.examples[:5])
        where = f" (rows {', '.join(_short(str(r), 80) for r in self.row_ids[:5])})" if self.row_ids else ""
        return f"{self.table}.{self.column}: rule '{self.rule}' broken by {self.count} row(s){where}; e.g. {ex}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "rule": self.rule,
            "count": self.count,
            "examples": [_jsonable(e) for e in self.examples[:5]],
            "row_ids": [_jsonable(r) for r in self.row_ids[:5]],
        }


def _short(text: str, limit: int) -> str:
    """A row id or value cut to ``limit`` characters (a garbled record can hold kilobytes of text)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


class ContractViolation(IpriskError):
    """Data broke its contract. ``violations`` lists every broken rule; the message leads with the first."""

    exit_code = 3

    def __init__(self, violations: list[Violation]):
        self.violations = list(violations)
        first = self.violations[0].describe() if self.violations else "no violations"
        more = f" (+{len(self.violations) - 1} more rule(s) broken)" if len(self.violations) > 1 else ""
        super().__init__(first + more)


class ModelError(IpriskError):
    """A model cannot be fitted or used: one-class target, too few defaults, features not matching."""

    exit_code = 4


class RegistryError(IpriskError):
    """The model registry cannot be reached, or a requested model / alias / version is missing."""

    exit_code = 5


class PortfolioError(IpriskError):
    """A pool or tranche request cannot be evaluated (bad attachments, unmeetable targets, too many paths)."""

    exit_code = 2


class ClusterError(IpriskError):
    """A distributed run could not finish: no scheduler at the address, workers lost beyond the
    retries, or an output folder that is not the job's. No partial output is marked complete."""

    exit_code = 3
