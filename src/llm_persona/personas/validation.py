"""Checking persona files: the shipped JSON Schema, then what a schema cannot say (duplicate names,
unknown parents, inheritance cycles). Every problem comes with its file, line, column, path and hint."""

from __future__ import annotations

import datetime
import difflib
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_persona.errors import Problem
from llm_persona.personas.loader import SUFFIXES, Document, Item, read_document
from llm_persona.personas.schema import persona_check, persona_file_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError


@dataclass(frozen=True)
class Entry:
    """One persona of a checked file: its name, its fields as written, and where it is."""

    name: str
    fields: dict[str, Any]
    doc: Document
    item: Item

    @property
    def position(self) -> tuple[int | None, int | None]:
        """Line and column of the persona's name."""
        return self.doc.at(self.item, key=True)


@dataclass
class Checked:
    """The outcome of checking: every problem, and the entries (usable only when there are none)."""

    problems: list[Problem] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


def validate_file(path: str | os.PathLike[str], *, known: Iterable[str] = ()) -> list[Problem]:
    """Every problem in a persona file, or in each persona file of a folder; [] when it loads.

    `known` names personas defined elsewhere (e.g. already in a registry) that `parent:` may name.
    """
    return check(Path(path), set(known)).problems


def check(path: Path, known: Collection[str]) -> Checked:
    """Read and check a file or folder; `entries` lists its personas in file order."""
    files, problems = _persona_files(path)
    checked = Checked(problems)
    for f in files:
        doc = read_document(f)
        if doc.problem is not None:
            checked.problems.append(doc.problem)
            continue
        checked.problems += _duplicate_problems(doc)
        checked.problems += _file_problems(doc, checked.entries)
    checked.problems += _parent_problems(checked.entries, known)
    order = {str(f): i for i, f in enumerate(files)}
    checked.problems.sort(key=lambda p: (order.get(p.file, -1), p.line or 0, p.column or 0))
    return checked


def _persona_files(path: Path) -> tuple[list[Path], list[Problem]]:
    kinds = ", ".join(SUFFIXES)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()), key=lambda p: p.name
        )
        if not files:
            return [], [_problem(str(path), "the folder holds no persona files", f"Add {kinds} files to it.")]
        return files, []
    if not path.exists():
        return [], [_problem(str(path), "no such file or folder", "Check the path.")]
    if path.suffix.lower() not in SUFFIXES:
        message = f"unsupported file type {path.suffix or '(no suffix)'!r}"
        return [], [_problem(str(path), message, f"Name the file with one of {kinds} (YAML or JSON).")]
    return [path], []


def _problem(file: str, message: str, hint: str) -> Problem:
    return Problem(file, None, None, "", message, hint)


def _file_problems(doc: Document, entries: list[Entry]) -> list[Problem]:
    """Check each persona of the file against the schema and add it to `entries`; a name another
    file already defined is a problem."""
    if not isinstance(doc.data, dict):
        message, hint = _top_level(doc.data)
        return [Problem(doc.file, *doc.start, "", message, hint)]
    problems: list[Problem] = []
    first = {e.name: e for e in entries}
    for item in doc.items:
        name = item.name
        if not isinstance(name, str) or not name.strip():
            problems.append(_bad_name(doc, item))
            continue
        problems += _schema_problems(doc, item)
        other = first.get(name)
        if other is None:
            fields = item.value if isinstance(item.value, dict) else {}
            first[name] = Entry(name, fields, doc, item)
            entries.append(first[name])
        elif other.doc is not doc:  # twice in one file is a duplicate key, reported already
            line, column = doc.at(item, key=True)
            other_line, other_column = other.position
            where = (
                f"{other.doc.file}:{other_line}:{other_column}" if other_line is not None else other.doc.file
            )
            message = f"persona {name!r} is defined twice: here and at {where}"
            hint = f"Rename one of them or remove one; a name must be unique across {Path(doc.file).parent}."
            problems.append(Problem(doc.file, line, column, name, message, hint))
    return problems


def _top_level(data: Any) -> tuple[str, str]:
    if data is None:
        return "the file is empty", "Add personas: a name such as `Maya:` with its fields indented below it."
    hint = "Write each persona as its name followed by `:`, with its fields indented below it."
    if isinstance(data, list):
        hint += " A list of entries with a `name:` field is not the format: make each name the key."
    return f"the top level must be a mapping of persona name to fields, not {_kind(data)}", hint


def _bad_name(doc: Document, item: Item) -> Problem:
    line, column = doc.at(item, key=True)
    if isinstance(item.name, str):
        return Problem(doc.file, line, column, "", "a persona name is empty", "Give the persona a name.")
    written = doc.key_text(item)
    message = f"persona name {written} is read as {_kind(item.name)}, not text"
    return Problem(doc.file, line, column, written, message, f'Quote it: "{written}":')


def _duplicate_problems(doc: Document) -> list[Problem]:
    problems = []
    for dup in doc.duplicates:
        first = f" (first at line {dup.first[0]})" if dup.first[0] is not None else ""
        if dup.path:
            path = _path_text([*dup.path, dup.key])
            message = f"key {dup.key!r} is given twice in {_path_text(dup.path)}{first}"
        else:
            path = dup.key
            message = f"persona {dup.key!r} is defined twice in this file{first}"
        hint = "Remove or rename one of them: only the last would be kept, silently."
        problems.append(Problem(doc.file, dup.repeat[0], dup.repeat[1], path, message, hint))
    return problems


def _parent_problems(entries: list[Entry], known: Collection[str]) -> list[Problem]:
    """Unknown parents and inheritance cycles, across every file checked."""
    problems: list[Problem] = []
    index = {e.name: i for i, e in enumerate(entries)}
    parents: dict[str, str] = {}
    for e in entries:
        parent = e.fields.get("parent")
        if not isinstance(parent, str) or not parent:
            continue
        parents[e.name] = parent
        if parent not in index and parent not in known:
            line, column = e.doc.at(e.item, ["parent"])
            close = difflib.get_close_matches(parent, [*index, *known], n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            message = f"persona {e.name!r} inherits from {parent!r}, which is not defined{guess}"
            hint = f"Define {parent!r} (in this file, the folder, or the registry first) or fix 'parent'."
            if close:
                hint = f"Change 'parent' to {close[0]!r}, or define {parent!r}."
            problems.append(Problem(e.doc.file, line, column, f"{e.name}.parent", message, hint))
    done: set[str] = set()
    for e in entries:
        chain: list[str] = []
        on_chain: set[str] = set()
        name = e.name
        while name in parents and name not in done and name not in on_chain:
            chain.append(name)
            on_chain.add(name)
            name = parents[name]
        if name in on_chain:  # walked into a loop
            loop = chain[chain.index(name) :]
            start = min(loop, key=index.__getitem__)
            loop = loop[loop.index(start) :] + loop[: loop.index(start)]
            first = entries[index[start]]
            line, column = first.doc.at(first.item, ["parent"])
            message = f"inheritance cycle: {' -> '.join([*loop, start])}"
            hint = "Remove 'parent' from one of these personas, or point it at a persona outside the cycle."
            problems.append(Problem(first.doc.file, line, column, f"{start}.parent", message, hint))
        done.update(chain)
    return problems


# --- schema errors --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    """One validator for a persona entry (the schema's `$defs/persona`), reused for every entry.
    Imported here: only entries that fail the fast check need it."""
    from jsonschema import Draft202012Validator

    schema = persona_file_schema()
    persona = {"$schema": schema["$schema"], **schema["$defs"]["persona"]}
    return Draft202012Validator(persona)


def _schema_problems(doc: Document, item: Item) -> list[Problem]:
    if persona_check()(item.value):  # the fast check; the full validator explains what is wrong
        return []
    try:
        errors = list(_validator().iter_errors(item.value))
    except RecursionError:
        line, column = doc.at(item, key=True)
        message = "the persona nests too deeply to check (a recursive alias?)"
        return [
            Problem(doc.file, line, column, item.name, message, "Remove the alias that refers to itself.")
        ]
    errors.sort(key=lambda e: "then" in e.relative_schema_path)  # prefer the general error on a path
    problems: dict[str, Problem] = {}
    for error in errors:
        for problem in _describe(doc, item, error):
            problems.setdefault(problem.path, problem)
    return list(problems.values())


def _describe(doc: Document, item: Item, error: ValidationError) -> list[Problem]:
    inner = list(error.absolute_path)  # inside the entry
    path = [item.name, *inner]
    value = error.instance
    if "propertyNames" in error.relative_schema_path:
        return [_bad_key(doc, item, inner, value)]
    if error.validator == "additionalProperties":
        allowed = tuple(error.schema.get("properties", ()))
        return [_unknown_key(doc, item, inner, k, allowed) for k in value if k not in allowed]
    on_name = error.validator == "required" or (not inner and value is None)
    line, column = doc.at(item, inner, key=on_name)
    where = _path_text(path)

    def problem(message: str, hint: str) -> list[Problem]:
        return [Problem(doc.file, line, column, where, message, hint)]

    if error.validator == "required":
        return problem(
            f"persona {item.name!r} has no role",
            "Add `role: ...` (e.g. 'Customer Support Specialist'), or `parent: ...` to inherit one.",
        )
    if error.validator == "enum":
        close = difflib.get_close_matches(str(value), error.validator_value, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        return problem(
            f"{value!r} cannot be listed under 'replace': it is not a mergeable field{guess}",
            f"List only fields inheritance merges: {', '.join(error.validator_value)}.",
        )
    if error.validator == "minLength":
        return problem(f"'{_path_text(inner)}' is empty", "Write a value, or remove the line.")
    if error.validator == "type":
        return problem(*_wrong_type(path, value, error))
    return problem(error.message, "Compare with the file format `llm-persona schema` prints.")


def _wrong_type(path: list[Any], value: Any, error: ValidationError) -> tuple[str, str]:
    got = _kind(value)
    if len(path) == 1:
        if value is None:
            return f"persona {path[0]!r} has no fields", "Indent its fields below the name, e.g. `role: ...`."
        return (
            f"persona {path[0]!r} must be a mapping of fields, not {got}",
            "Indent its fields below the name as `field: value` lines, e.g. `role: ...`.",
        )
    if value is None and "then" in error.relative_schema_path:
        return (
            f"custom section {path[-1]!r} is null, but persona {path[0]!r} has no parent to remove it from",
            "Give the section its text, or remove the line; null only removes a section a parent defines.",
        )
    if len(path) == 3 and path[1] == "variables":
        return (
            f"variable {path[2]!r} must be a mapping of its settings, or empty, not {got}",
            f"Write `{path[2]}: {{description: ..., default: ...}}`, or leave the value empty.",
        )
    expected = _expected(error.schema)
    message = f"'{_path_text(path[1:])}' must be {expected}, not {got}"
    if expected.startswith("a list"):
        hint = "Write it as a list: one `- item` per line, or [first, second]."
    elif expected.startswith("a mapping"):
        hint = "Write it as a mapping: `key: value` lines indented below it."
    elif expected == "true or false":
        hint = "Write true or false."
    elif value is None:
        hint = "Give it a value, or remove the line to use the default."
    elif isinstance(value, (dict, list)):
        hint = "Write it as one piece of text; use `|` and indented lines for text of several lines."
    else:
        hint = f'Quote the value so it is read as text: "{value}".'
    return message, hint


def _expected(schema: dict[str, Any]) -> str:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    names = {"string": "a string", "null": "null", "object": "a mapping", "boolean": "true or false"}
    words: list[str] = []
    for t in types:
        if t == "array":
            items = schema.get("items", {})
            words.append("a list of strings" if items.get("type") == "string" else "a list")
        else:
            words.append(names.get(t, str(t)))
    return " or ".join(words)


def _kind(value: Any) -> str:
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else type(value).__name__


def _bad_key(doc: Document, item: Item, inner: list[Any], key: Any) -> Problem:
    line, column = doc.at(item, [*inner, key], key=True)
    where = _path_text([item.name, *inner, key])
    if inner[-1:] == ["variables"]:
        suggestion = re.sub(r"\W", "_", str(key), flags=re.ASCII) or "name"
        suggestion = f"_{suggestion}" if suggestion[0].isdigit() else suggestion
        return Problem(
            doc.file,
            line,
            column,
            where,
            f"variable name {key!r} is not an identifier",
            f"Use letters, digits and '_', not starting with a digit, e.g. {suggestion!r} "
            f"(written {{{suggestion}}} in the text).",
        )
    message = f"section name {key!r} is not text"
    return Problem(doc.file, line, column, where, message, f'Quote it so YAML reads it as text: "{key}":')


def _unknown_key(doc: Document, item: Item, inner: list[Any], key: Any, allowed: Sequence[str]) -> Problem:
    line, column = doc.at(item, [*inner, key], key=True)
    where = _path_text([item.name, *inner, key])
    in_variable = bool(inner)
    noun = "key" if in_variable else "field"
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if key == "name" and not in_variable:
        message = "'name' is not a field: the persona's name is its key"
        hint = f"Remove the `name:` line; this persona is called {item.name!r} by its key."
    elif close:
        message = f"unknown {noun} {key!r}; did you mean {close[0]!r}?"
        hint = f"Rename {key!r} to {close[0]!r}."
    else:
        message = f"unknown {noun} {key!r}" + (f" in variable {inner[-1]!r}" if in_variable else "")
        hint = f"Remove it; {'a variable' if in_variable else 'a persona'} takes {', '.join(allowed)}."
    return Problem(doc.file, line, column, where, message, hint)


def _path_text(path: Sequence[Any]) -> str:
    """`Maya.capabilities[2]`-style text for a data path."""
    out = str(path[0]) if path else ""
    for step in path[1:]:
        out += f"[{step}]" if isinstance(step, int) and not isinstance(step, bool) else f".{step}"
    return out
