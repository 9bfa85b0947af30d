"""The contract model: one YAML file per table, the single source of truth for every field.

A contract states, per column: type, unit, nullability, range, allowed values, a one-line
description and, where it has one, the risk direction ("riskier" = a higher value means more
risk). Table rules cover keys, references, date order, column order and share sums. Everything
else (GX suites, request validators, monotone constraints, reason-code wording, docs) is derived.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.errors import ContractError

CONTRACTS_DIR = Path(__file__).parent

ColumnType = Literal["string", "integer", "number", "boolean", "date", "category"]
RiskDirection = Literal["riskier", "safer"]
TableKind = Literal["core", "ground_truth", "byod", "pool", "monitoring"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Column(_Frozen):
    """One field. ``min``/``max`` are inclusive; ``risk_direction`` says what a *higher* value means."""

    name: str
    type: ColumnType
    description: str
    unit: str | None = None
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    risk_direction: RiskDirection | None = None
    source_name: str | None = Field(default=None, description="Name in the source file, when it differs.")
    format: str | None = Field(
        default=None,
        description="strftime format of a date column as written in its source file (e.g. '%Y.%m.%d'); "
                    "a value in any other form breaks rule 'type'. Default: ISO 8601, then any form pandas parses.")

    @model_validator(mode="after")
    def _check(self) -> Column:
        if self.format is not None:
            if self.type != "date":
                raise ValueError(f"column '{self.name}': 'format' only fits date columns")
            if "%" not in self.format:
                raise ValueError(f"column '{self.name}': format {self.format!r} has no strftime directive")
        if self.type == "category" and not self.allowed:
            raise ValueError(f"column '{self.name}': type category needs 'allowed'")
        if self.allowed and self.type not in ("category", "string"):
            raise ValueError(f"column '{self.name}': 'allowed' only fits category/string columns")
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "number"):
            raise ValueError(f"column '{self.name}': min/max only fit integer/number columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column '{self.name}': min {self.min} > max {self.max}")
        if self.risk_direction and self.type not in ("integer", "number", "boolean"):
            raise ValueError(f"column '{self.name}': risk_direction needs a numeric or boolean column")
        return self

    @property
    def monotone_sign(self) -> int:
        """+1 if a higher value must not lower PD, -1 if it must not raise it, 0 if unconstrained."""
        return {"riskier": 1, "safer": -1, None: 0}[self.risk_direction]


class UniqueRule(_Frozen):
    """The listed columns together identify a row."""

    kind: Literal["unique"]
    columns: tuple[str, ...]


class ForeignKeyRule(_Frozen):
    """Every non-null ``column`` value appears in ``references`` (``table.column``)."""

    kind: Literal["foreign_key"]
    column: str
    references: str

    @property
    def ref_table(self) -> str:
        return self.references.split(".", 1)[0]

    @property
    def ref_column(self) -> str:
        return self.references.split(".", 1)[1]


class DateOrderRule(_Frozen):
    """Non-null dates are non-decreasing in the listed order. A name ``table.col`` is looked up in
    another table by joining on ``join`` (a key column both tables have)."""

    kind: Literal["date_order"]
    columns: tuple[str, ...]
    join: str | None = None


class ColumnOrderRule(_Frozen):
    """Row-wise ``lower <= upper`` for two numeric columns (nulls skip)."""

    kind: Literal["column_order"]
    lower: str
    upper: str


class SumAtMostRule(_Frozen):
    """Row-wise sum of the columns (nulls as 0) is at most ``limit``."""

    kind: Literal["sum_at_most"]
    columns: tuple[str, ...]
    limit: float


class RequiredIfRule(_Frozen):
    """When ``when`` is true, each of ``columns`` is non-null; when false, each is null."""

    kind: Literal["required_if"]
    when: str
    columns: tuple[str, ...]
    null_otherwise: bool = True


class SourceFormat(_Frozen):
    """How a source file is written, for tables read as published (e.g. a register extract).

    ``encoding`` is tried first; a line that is not valid in it, or that decodes to characters a
    register would not hold (see `pipelines.readers.decode_lines`), is decoded with
    ``fallback_encoding`` when that reads it cleanly. ``na_values``: texts that mean "missing" in
    every column (text columns included). ``line_terminator``: what the publisher writes; other
    endings are accepted and counted.
    """

    delimiter: str = ","
    encoding: str = "utf-8"
    fallback_encoding: str | None = None
    na_values: tuple[str, ...] = ()
    line_terminator: Literal["crlf", "lf"] = "lf"


Rule = Annotated[
    Union[UniqueRule, ForeignKeyRule, DateOrderRule, ColumnOrderRule, SumAtMostRule, RequiredIfRule],
    Field(discriminator="kind"),
]


class Contract(_Frozen):
    """A table's contract. ``kind`` says whose table it is: the product's own (``core``), the demo
    book's ground truth, a user's own table (``byod``, with a ``target``), or a trust-plan pool."""

    table: str
    version: str
    kind: TableKind
    description: str
    primary_key: tuple[str, ...] = ()
    target: str | None = None
    file_format: Literal["parquet", "csv", "arff", "any"] = "any"
    source_format: SourceFormat | None = None
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Contract:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names {dupes}")
        known = set(names)

        def need(col: str, where: str) -> None:
            if "." in col:
                return  # cross-table reference, checked when tables are validated together
            if col not in known:
                raise ValueError(f"{where} names unknown column '{col}'")

        for k in self.primary_key:
            need(k, "primary_key")
        if self.target:
            need(self.target, "target")
        for r in self.rules:
            cols: tuple[str, ...]
            if isinstance(r, (UniqueRule, DateOrderRule, SumAtMostRule)):
                cols = r.columns
            elif isinstance(r, ForeignKeyRule):
                cols = (r.column,)
            elif isinstance(r, ColumnOrderRule):
                cols = (r.lower, r.upper)
            else:
                cols = (r.when, *r.columns)
            for c in cols:
                need(c, f"rule '{r.kind}'")
        return self

    # -- derived views -------------------------------------------------------------------
    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise ContractError(f"{self.table}: contract has no column '{name}'")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def feature_columns(self) -> tuple[Column, ...]:
        """Columns a model may learn from: not keys, not the target, not identifiers or raw dates."""
        skip = set(self.primary_key) | ({self.target} if self.target else set())
        return tuple(
            c for c in self.columns if c.name not in skip and c.type in ("integer", "number", "boolean", "category")
        )

    def risk_directions(self) -> dict[str, int]:
        """Column name → monotone sign (+1 riskier, -1 safer) for columns that declare one."""
        return {c.name: c.monotone_sign for c in self.columns if c.risk_direction}

    def descriptions(self) -> dict[str, str]:
        return {c.name: c.description for c in self.columns}


def load_contract(name_or_path: str | Path) -> Contract:
    """Load a contract by table name (shipped contracts) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONTRACTS_DIR / f"{name_or_path}.yaml"
    return _load(str(path.resolve()))


@lru_cache(maxsize=64)
def _load(path: str) -> Contract:
    p = Path(path)
    if not p.is_file():
        raise ContractError(f"contract file not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ContractError(f"contract {p.name}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ContractError(f"contract {p.name}: top level must be a mapping")
    try:
        return Contract.model_validate(raw)
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:5])
        raise ContractError(f"contract {p.name} (table '{raw.get('table', '?')}'): {errs}") from e


CORE_TABLES: tuple[str, ...] = ("firms", "patents", "loans", "pledges", "outcomes")
"""The loan book's tables, in dependency order (a table references only earlier ones)."""

EVENT_TABLES: tuple[str, ...] = ("patent_citations", "patent_legal_events")
"""Optional tables of a loan book with dated patent events; features use the events dated before a
loan's origination (without them, the patents table's counts as of the appraisal)."""


def core_contracts() -> dict[str, Contract]:
    """The loan book's contracts by table name, in dependency order."""
    return {t: load_contract(t) for t in CORE_TABLES}
