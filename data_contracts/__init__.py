"""Data contracts: one YAML file per table, the single source of truth for every field.

Derived from them: Great Expectations suites (batch validation, Data Docs), fast record
validators (serving and small batches), monotone constraints, reason-code wording and docs.
"""

from data_contracts.contract import (
    CONTRACTS_DIR,
    CORE_TABLES,
    EVENT_TABLES,
    Column,
    Contract,
    core_contracts,
    load_contract,
)
from data_contracts.errors import (
    ContractError,
    ContractViolation,
    InputError,
    IpriskError,
    ModelError,
    PortfolioError,
    RegistryError,
    Violation,
)

__all__ = [
    "CONTRACTS_DIR", "CORE_TABLES", "EVENT_TABLES", "Column", "Contract", "core_contracts", "load_contract",
    "ContractError", "ContractViolation", "InputError", "IpriskError", "ModelError",
    "PortfolioError", "RegistryError", "Violation",
]
