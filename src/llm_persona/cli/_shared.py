"""What every command group shares: output, failing with one clear message, and common options."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from llm_persona.errors import LLMPersonaError
from llm_persona.personas.registry import PersonaRegistry


def out() -> Console:
    """A console on stdout that never wraps lines or reads markup, so text comes out as given."""
    return Console(highlight=False, soft_wrap=True, markup=False)


def err() -> Console:
    """Like `out()`, on stderr."""
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def fail(message: str) -> NoReturn:
    """Print `message` in red on stderr and exit with status 1."""
    text = Text("Error: ", style="bold red")
    text.append(message, style="red")
    err().print(text)
    raise typer.Exit(1)


class ErrorsAsMessages(TyperGroup):
    """The root command group: a `LLMPersonaError` (or an unreadable file) from any command becomes one
    red message on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context; typer's base class names a private module
        try:
            return super().invoke(ctx)
        except LLMPersonaError as exc:
            fail(str(exc))
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}")


# --- options ----------------------------------------------------------------------------------------


def _check_vars(values: list[str] | None) -> list[str] | None:
    for item in values or ():
        parse_var(item)
    return values


def parse_var(item: str) -> tuple[str, str]:
    """`NAME=VALUE` -> (name, value); anything else is a usage error."""
    name, sep, value = item.partition("=")
    if not sep:
        raise typer.BadParameter(f"{item!r} is not NAME=VALUE; write it like --var user_name=Sam.")
    if not name.isidentifier():
        raise typer.BadParameter(
            f"{name!r} (in {item!r}) is not a variable name; use letters, digits and '_', like user_name=Sam."
        )
    return name, value


def parse_vars(values: list[str] | None) -> dict[str, str]:
    """Every `--var NAME=VALUE` as a dict; a repeated name keeps its last value."""
    return dict(parse_var(item) for item in values or ())


PersonaFile = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        help="Persona file (YAML or JSON), or a folder of them.",
        exists=True,
        readable=True,
        show_default=False,
    ),
]
Vars = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        metavar="NAME=VALUE",
        help="A template variable; repeat for more.",
        callback=_check_vars,
        show_default=False,
    ),
]
VersionOption = Annotated[
    int | None, typer.Option("--version", min=1, help="Use this version number instead of the latest.")
]
LabelOption = Annotated[
    str | None, typer.Option("--label", help="Use the version this label points at (e.g. production).")
]


# --- registries -------------------------------------------------------------------------------------


def require(registry: PersonaRegistry, name: str, source: Path) -> None:
    """Fail with a did-you-mean message unless `registry` has a persona called `name`."""
    if name in registry:
        return
    names = registry.list_names()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "none"
    fail(f"No persona named {name!r} in {source}.{hint} Defined there: {shown}.")


def pick_one(ctx: typer.Context, version: int | None, label: str | None) -> None:
    """A usage error when both --version and --label are given."""
    if version is not None and label is not None:
        raise typer.BadParameter("pass one of them, not both.", ctx=ctx, param_hint=["--version", "--label"])
