"""The `iprisk` Typer application object. Command modules register on it; see `cli.main`."""

import typer

app = typer.Typer(
    name="iprisk",
    help="Risk models for IP-pledge loans and technology trust plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
