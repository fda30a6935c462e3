"""Persona commands: validate, build, list, diff, schema, explain."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table
from rich.text import Text

from llm_persona.cli._shared import (
    LabelOption,
    PersonaFile,
    Vars,
    VersionOption,
    err,
    fail,
    out,
    parse_vars,
    pick_one,
    require,
)
from llm_persona.errors import MissingVariablesError, Problem
from llm_persona.personas.registry import PersonaRegistry
from llm_persona.personas.validation import validate_file

PERSONA_SUFFIXES = (".yaml", ".yml", ".json")


def register(app: typer.Typer) -> None:
    """Add the persona commands to `app`."""
    app.command()(validate)
    app.command()(build)
    app.command("list")(list_personas)
    app.command()(diff)
    app.command()(explain)
    app.command()(schema)


# --- validate ---------------------------------------------------------------------------------------


def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Persona files (YAML or JSON) or folders of them.",
            exists=True,
            show_default=False,
        ),
    ],
) -> None:
    """Check persona files; print every problem as file:line:col and exit 1 if there is any."""
    paths = list(dict.fromkeys(files))
    names = {path: _names_in(path) for path in paths}
    problems: list[Problem] = []
    for path in paths:
        elsewhere = {n for other, found in names.items() if other != path for n in found}
        problems += validate_file(path, known=elsewhere)
    console = out()
    for problem in problems:
        console.print(str(problem))
    noun = "file" if len(paths) == 1 else "files"
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        err().print(f"{count} in {len(paths)} {noun}.", style="bold red")
        raise typer.Exit(1)
    total = sum(len(found) for found in names.values())
    where = str(paths[0]) if len(paths) == 1 else f"{len(paths)} {noun}"
    console.print(f"OK: {total} persona{'s' if total != 1 else ''} in {where}, no problems.", style="green")


def _names_in(path: Path) -> list[str]:
    """The persona names a file (or the files of a folder) defines, best effort: a file's own problems
    are validate_file's to report. Names from the other files given to `validate` count as known parents."""
    if path.is_dir():
        inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PERSONA_SUFFIXES)
        return [name for p in inside for name in _names_in(p)]
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError):
        return []
    return [name for name in data if isinstance(name, str)] if isinstance(data, dict) else []


# --- build ------------------------------------------------------------------------------------------


def build(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The persona to render.", show_default=False)],
    file: PersonaFile,
    var: Vars = None,
    version: VersionOption = None,
    label: LabelOption = None,
) -> None:
    """Print NAME's system prompt and nothing else, so it can be piped."""
    pick_one(ctx, version, label)
    registry = PersonaRegistry.from_file(file)
    require(registry, name, file)
    persona = registry.get(name, version=version, label=label)
    try:
        prompt = persona.build_system_prompt(**parse_vars(var))
    except MissingVariablesError as exc:
        flags = " ".join(f"--var {missing}=..." for missing in sorted(exc.missing))
        fail(f"{exc} On the command line: {flags}")
    typer.echo(prompt)


# --- list -------------------------------------------------------------------------------------------


def list_personas(file: PersonaFile) -> None:
    """Show every persona: name, parent, current version, labels and fingerprint."""
    registry = PersonaRegistry.from_file(file)
    if not len(registry):
        err().print(f"No personas in {file}.", style="yellow")
        return
    table = Table("name", "parent", "version", "labels", "fingerprint")
    for name in registry.list_names():
        current = registry.lookup(name)
        labels = ", ".join(
            label if number == current.number else f"{label} (v{number})"
            for label, number in registry.labels(name).items()
        )
        parent = registry.definition(name).parent or ""
        table.add_row(Text(name), Text(parent), f"v{current.number}", Text(labels), current.short_fingerprint)
    out().print(table)


# --- diff -------------------------------------------------------------------------------------------

_VERSION = re.compile(r"v?(\d+)")


def diff(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The persona to compare.", show_default=False)],
    file: PersonaFile,
    a: Annotated[
        str | None, typer.Argument(metavar="A", help="Version number or label.", show_default=False)
    ] = None,
    b: Annotated[
        str | None, typer.Argument(metavar="B", help="Version number or label.", show_default=False)
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="Compare NAME in FILE with NAME after loading this file over it.",
            exists=True,
            readable=True,
            show_default=False,
        ),
    ] = None,
) -> None:
    """What changed between two versions of NAME: the fields, then the prompt as a unified diff.

    A and B are version numbers (2 or v2) or labels.

    A file holds one version of each persona; to see what an edit does, load the new file over the old:

    llm-persona diff Maya -f old.yaml --against new.yaml
    """
    if (a is None) != (b is None) or (a is None and against is None):
        raise typer.BadParameter(
            "give two versions (A B) or --against OTHER_FILE.", ctx=ctx, param_hint=["A B", "--against"]
        )
    registry = PersonaRegistry.from_file(file)
    require(registry, name, file)
    before: int | str = registry.lookup(name).number
    after: int | str = before
    if against is not None:
        registry.load(against)
        after = registry.lookup(name).number
    if a is not None and b is not None:
        before, after = _ref(a), _ref(b)
    elif before == after:
        fingerprint = registry.lookup(name).short_fingerprint
        out().print(f"No change: {name} is the same in {file} and {against} (v{before}, {fingerprint}).")
        return
    result = registry.diff(name, before, after)
    console = out()
    for line in str(result).splitlines():
        console.print(Text(line, style=_diff_style(line)))


def _ref(text: str) -> int | str:
    """'2' or 'v2' -> version 2; anything else is a label."""
    match = _VERSION.fullmatch(text)
    return int(match.group(1)) if match else text


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")) or not line.startswith((" ", "+", "-", "@")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return "cyan" if line.startswith("@@") else ""


# --- explain ----------------------------------------------------------------------------------------


def explain(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The persona to explain.", show_default=False)],
    file: PersonaFile,
    var: Vars = None,
    version: VersionOption = None,
    label: LabelOption = None,
) -> None:
    """Show each line of NAME's prompt with the persona and field it came from.

    Placeholders without a --var value are shown as {name}.
    """
    pick_one(ctx, version, label)
    registry = PersonaRegistry.from_file(file)
    require(registry, name, file)
    explanation = registry.explain(name, version=version, label=label, **parse_vars(var))
    typer.echo(str(explanation))


# --- schema -----------------------------------------------------------------------------------------


def schema() -> None:
    """Print the JSON Schema of the persona file format (for editors and CI)."""
    from llm_persona.personas.schema import persona_file_schema

    typer.echo(json.dumps(persona_file_schema(), indent=2, ensure_ascii=False))
