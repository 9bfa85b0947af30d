"""Entry point of the `iprisk` command.

Each command lives in its own module under `cli/commands/` and registers on the shared
Typer app; heavy imports happen inside the commands so `--help` stays fast. Errors a user can
cause (`IpriskError`) become one red line on stderr and the error's exit code.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from rich.console import Console

from cli import commands
from cli.app import app
from data_contracts.errors import IpriskError


def _register_commands() -> None:
    for mod in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        importlib.import_module(f"cli.commands.{mod}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; `argv` defaults to `sys.argv[1:]`."""
    _register_commands()
    try:
        app(args=argv, prog_name="iprisk", standalone_mode=True)
    except IpriskError as e:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {e}", soft_wrap=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
