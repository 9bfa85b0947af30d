"""API keys: each a role, stored only as a salted SHA-256 hash in a JSON file.

A key looks like `ipr_<key_id>_<secret>`; the file keeps `key_id`, name, role, salt and
sha256(salt + secret), never the secret. Verifying costs one hash and a constant-time compare.
Roles and what they may call are in `serving.auth.ROUTE_ROLES`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from data_contracts.errors import InputError

ROLES: tuple[str, ...] = ("credit_officer", "fund_manager", "data_scientist")
PREFIX = "ipr"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's id, its name and its role."""

    key_id: str
    name: str
    role: str


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["keys"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"keys file {path}: not a valid key store ({type(e).__name__}: {e})") from e


def _write(path: Path, keys: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": keys}, f, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_key(path: Path, role: str, name: str | None = None) -> str:
    """Add a key with `role` to the store at `path` and return the key (shown once, never stored)."""
    if role not in ROLES:
        raise InputError(f"api key: role {role!r} is not one of {list(ROLES)}")
    keys = _read(path)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24).replace("_", "x")
    salt = secrets.token_hex(16)
    keys.append({
        "key_id": key_id, "name": name or f"{role}-{key_id}", "role": role, "salt": salt,
        "sha256": _digest(salt, secret), "created": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    _write(path, keys)
    return f"{PREFIX}_{key_id}_{secret}"


def list_keys(path: Path) -> list[dict]:
    """The stored keys without salts and hashes."""
    return [{k: v for k, v in e.items() if k not in ("salt", "sha256")} for e in _read(path)]


def revoke_key(path: Path, key_id: str) -> bool:
    """Remove a key by id; True if it existed."""
    keys = _read(path)
    kept = [k for k in keys if k["key_id"] != key_id]
    if len(kept) != len(keys):
        _write(path, kept)
    return len(kept) != len(keys)


class KeyStore:
    """Loaded key store: `verify(key)` → `Caller` or None. Reload with `KeyStore(path)`."""

    def __init__(self, path: Path):
        self.path = path
        self._by_id = {k["key_id"]: k for k in _read(path)}

    def __len__(self) -> int:
        return len(self._by_id)

    def verify(self, key: str | None) -> Caller | None:
        if not key or not key.startswith(PREFIX + "_"):
            return None
        parts = key.split("_", 2)
        if len(parts) != 3:
            return None
        entry = self._by_id.get(parts[1])
        if entry is None:
            return None
        if not hmac.compare_digest(_digest(entry["salt"], parts[2]), entry["sha256"]):
            return None
        return Caller(key_id=entry["key_id"], name=entry["name"], role=entry["role"])
