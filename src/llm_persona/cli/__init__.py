"""The `llm-persona` command line: one Typer app, its commands grouped by module.

Each command module has `register(app)`, which adds its commands (or a sub-app such as `db`) to the
app. To add a group, write its module and list it in `_COMMAND_MODULES`. Commands import heavy
dependencies inside their bodies, so `llm-persona build` never pays for the server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from llm_persona import __version__
from llm_persona.cli import chat, db, keys, personas, serve
from llm_persona.cli._shared import ErrorsAsMessages

__all__ = ["app", "main"]

_COMMAND_MODULES = (personas, db, keys, serve, chat)

app = typer.Typer(
    name="llm-persona",
    cls=ErrorsAsMessages,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"llm-persona {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """One definition of every agent persona, many uses, no drift."""


for _module in _COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Entry point of the `llm-persona` console script."""
    app(prog_name="llm-persona")
