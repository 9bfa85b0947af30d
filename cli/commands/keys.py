"""`iprisk keys`: API keys for the scoring service (stored hashed in the untracked keys file)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.app import app

keys_app = typer.Typer(help="Create, list and revoke the scoring service's API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_FILE = typer.Option(None, "--file", help="Keys file (default: serving.keys_file, .iprisk/api_keys.json).")


def _path(file: Optional[Path]) -> Path:
    from pipelines.serving_config import load_config

    return Path(file) if file else load_config().keys_path


@keys_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="credit_officer, fund_manager or data_scientist."),
    name: Optional[str] = typer.Option(None, "--name", help="A label for the key (default: role-id)."),
    file: Optional[Path] = _FILE,
) -> None:
    """Create a key with a role and print it once (only its salted hash is stored)."""
    from pipelines.key_store import create_key

    typer.echo(create_key(_path(file), role, name))


@keys_app.command("list")
def list_(file: Optional[Path] = _FILE) -> None:
    """List the keys' ids, names, roles and creation times (never the keys)."""
    from rich.console import Console
    from rich.table import Table

    from pipelines.key_store import list_keys

    t = Table("key id", "name", "role", "created")
    for k in list_keys(_path(file)):
        t.add_row(k["key_id"], k["name"], k["role"], k.get("created", ""))
    Console().print(t)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id (second part of ipr_<id>_…)."), file: Optional[Path] = _FILE) -> None:
    """Revoke a key; a running service stops accepting it at once."""
    from data_contracts.errors import InputError
    from pipelines.key_store import revoke_key

    if not revoke_key(_path(file), key_id):
        raise InputError(f"keys: no key with id {key_id!r}")
    typer.echo(f"revoked {key_id}")
