"""Reading persona files: parse YAML or JSON keeping node positions, and build `Persona` objects."""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from llm_persona.errors import PersonaDefinitionError, PersonaFileError, Problem
from llm_persona.personas.persona import Persona

#: File name endings read as persona files (a folder loads every such file, sorted by name).
SUFFIXES = (".yaml", ".yml", ".json")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_Pair = tuple[yaml.Node, yaml.Node]
_Position = tuple[int | None, int | None]
_READ_HINT = "Check that the file exists and that you may read it."
_DEEP_HINT = "Persona fields nest a few levels at most: flatten the structure."
_SYNTAX_HINT = (
    "Check the indentation and quoting here; quote values that contain ': ' or start with "
    "a special character such as '{', '[', '*', '&' or '@'."
)


def load_definitions(path: Path, known: set[str]) -> list[Persona]:
    """The personas of a file, or of every persona file in a folder, in file order.

    `known` names personas defined elsewhere that a `parent:` may point at. Any problem raises one
    `PersonaFileError` carrying every problem found.
    """
    from llm_persona.personas.validation import check

    checked = check(path, known)
    if checked.problems:
        raise PersonaFileError(checked.problems)
    personas: list[Persona] = []
    problems: list[Problem] = []
    for entry in checked.entries:
        try:
            personas.append(Persona(name=entry.name, **entry.fields))
        except (PersonaDefinitionError, TypeError) as exc:  # the schema should have caught it already
            line, column = entry.position
            hint = "Fix the value this message names."
            problems.append(Problem(entry.doc.file, line, column, entry.name, str(exc), hint))
    if problems:
        raise PersonaFileError(problems)
    return personas


class Duplicate(NamedTuple):
    """A key given twice in one mapping: the mapping's path, the key, and where each one is."""

    path: tuple[Any, ...]
    key: str
    first: _Position
    repeat: _Position


class Item(NamedTuple):
    """One top-level entry as written (a repeated name gives two items)."""

    name: Any
    value: Any
    slot: int  # among the top-level pairs, for positions


@dataclass
class Document:
    """One persona file as read: its data (or the problem that stopped parsing) and its entries.

    Positions are looked up only when a problem needs one; for JSON the text is composed as YAML
    for them then, so a valid JSON file is never parsed twice.
    """

    file: str
    data: Any = None
    items: list[Item] = field(default_factory=list)  # the top-level entries, when `data` is a mapping
    problem: Problem | None = None  # syntax or read error; `data` is then None
    duplicates: list[Duplicate] = field(default_factory=list)
    start: _Position = (1, 1)  # where the content begins
    pairs: list[_Pair] | None = None  # top-level (key node, value node), one per item
    json_text: str | None = None  # for JSON: composed on the first position asked for
    _index: dict[int, dict[str, _Pair]] = field(default_factory=dict)

    def at(self, item: Item, path: Sequence[Any] = (), *, key: bool = False) -> _Position:
        """1-based (line, column) of the node at `path` inside `item` (of its key with `key=True`);
        the deepest node found when the path runs out, (None, None) when positions are unknown."""
        pairs = self._top_pairs()
        if pairs is None:
            return None, None
        key_node, node = pairs[item.slot]
        mark = key_node.start_mark if key and not path else node.start_mark
        for i, step in enumerate(path):
            if isinstance(node, yaml.MappingNode):
                pair = self._pairs(node).get(str(step).lower() if isinstance(step, bool) else str(step))
                if pair is None:
                    break
                node = pair[1]
                mark = pair[0].start_mark if key and i == len(path) - 1 else node.start_mark
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value)
            ):
                node = node.value[step]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1

    def key_text(self, item: Item) -> str:
        """The entry's name as written (`no` rather than the False YAML reads it as)."""
        pairs = self._top_pairs()
        key_node = pairs[item.slot][0] if pairs is not None else None
        return key_node.value if isinstance(key_node, yaml.ScalarNode) else str(item.name)

    def _top_pairs(self) -> list[_Pair] | None:
        if self.pairs is None and self.json_text is not None:
            try:  # valid JSON has tabs only as whitespace, which YAML may refuse: spaces keep the columns
                root = yaml.compose(self.json_text.replace("\t", " "), Loader=_Loader)
            except yaml.YAMLError:
                root = None
            self.json_text = None
            if isinstance(root, yaml.MappingNode) and len(root.value) == len(self.items):
                self.pairs = list(root.value)
        return self.pairs

    def _pairs(self, node: yaml.MappingNode) -> dict[str, _Pair]:
        pairs = self._index.get(id(node))
        if pairs is None:  # later pairs win, as they do in the constructed data
            pairs = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            self._index[id(node)] = pairs
        return pairs


def read_document(path: Path) -> Document:
    """Parse one YAML or JSON file (chosen by its suffix), never raising for bad content."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Document(
            file, problem=Problem(file, None, None, "", f"cannot read the file: {exc}", _READ_HINT)
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"
        return Document(file, problem=Problem(file, line, None, "", message, "Save the file as UTF-8."))
    if path.suffix.lower() == ".json":
        return _read_json(file, text)
    return _read_yaml(file, text)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C one when available) noting keys that a mapping repeats."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeats: list[tuple[yaml.MappingNode, yaml.Node, yaml.Node]] = []

    def note_repeats(self, node: yaml.MappingNode) -> None:
        seen: dict[tuple[str, str], yaml.Node] = {}
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE_TAG:
                first = seen.setdefault((k.tag, k.value), k)
                if first is not k:
                    self.repeats.append((node, first, k))

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.note_repeats(node)  # before `<<:` merges are flattened into the node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping


def _read_yaml(file: str, text: str) -> Document:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(file)
        doc = Document(file, start=_mark(root))
        if not isinstance(root, yaml.MappingNode):
            doc.data = loader.construct_document(root)
        else:
            loader.note_repeats(root)
            loader.flatten_mapping(root)  # resolve `<<:` merge keys, as the constructor would
            for i, (k, v) in enumerate(root.value):  # entry by entry: a repeated name keeps both
                name = loader.construct_object(k, deep=True)
                if not isinstance(name, Hashable):
                    raise yaml.constructor.ConstructorError(None, None, "found unhashable key", k.start_mark)
                doc.items.append(Item(name, loader.construct_object(v, deep=True), i))
            doc.data = {item.name: item.value for item in doc.items}
            doc.pairs = list(root.value)
        doc.duplicates = _duplicates(root, loader.repeats)
        return doc
    except yaml.MarkedYAMLError as exc:
        return Document(file, problem=_yaml_problem(file, text, exc))
    except yaml.YAMLError as exc:
        return Document(file, problem=Problem(file, None, None, "", f"YAML error: {exc}", _SYNTAX_HINT))
    except RecursionError:
        return Document(
            file, problem=Problem(file, None, None, "", "the YAML nests too deeply to read", _DEEP_HINT)
        )
    finally:
        loader.dispose()


def _read_json(file: str, text: str) -> Document:
    repeated: dict[int, list[str]] = {}
    top: list[tuple[str, Any]] = []  # the top-level object's pairs: it is built last

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal top
        top = pairs
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                repeated.setdefault(id(out), []).append(k)
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        hint = "Fix the JSON syntax here: a missing comma or quote, or a trailing comma, is the usual cause."
        return Document(
            file, problem=Problem(file, exc.lineno, exc.colno, "", f"JSON syntax error: {exc.msg}", hint)
        )
    except RecursionError:
        return Document(
            file, problem=Problem(file, None, None, "", "the JSON nests too deeply to read", _DEEP_HINT)
        )
    stripped = text.lstrip()
    before = text[: len(text) - len(stripped)]
    start = (before.count("\n") + 1, len(before) - before.rfind("\n"))
    if not isinstance(data, dict):
        return Document(file, data, start=start)
    doc = Document(file, data, [Item(k, v, i) for i, (k, v) in enumerate(top)], start=start, json_text=text)
    if repeated:
        as_yaml = _read_yaml(file, text.replace("\t", " "))
        if as_yaml.pairs is not None and len(as_yaml.pairs) == len(top) and as_yaml.duplicates:
            doc.pairs, doc.json_text, doc.duplicates = as_yaml.pairs, None, as_yaml.duplicates
        else:
            where = (None, None)
            doc.duplicates = [Duplicate(p, k, where, where) for p, k in _walk_repeated(data, (), repeated)]
    return doc


def _walk_repeated(
    data: Any, path: tuple[Any, ...], repeated: dict[int, list[str]]
) -> list[tuple[tuple[Any, ...], str]]:
    found: list[tuple[tuple[Any, ...], str]] = [(path, k) for k in repeated.get(id(data), [])]
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in children:
        found += _walk_repeated(v, (*path, k), repeated)
    return found


def _duplicates(
    root: yaml.Node, repeats: list[tuple[yaml.MappingNode, yaml.Node, yaml.Node]]
) -> list[Duplicate]:
    """The repeated keys the loader noted, with the path of their mapping (found by walking the tree)."""
    if not repeats:
        return []
    wanted = {id(node) for node, _, _ in repeats}
    paths: dict[int, tuple[Any, ...]] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack and len(paths) < len(wanted):
        node, path = stack.pop()
        if id(node) in seen:  # an alias of a node already walked
            continue
        seen.add(id(node))
        if id(node) in wanted:
            paths[id(node)] = path
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*path, i)) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend((v, (*path, k.value)) for k, v in node.value if isinstance(k, yaml.ScalarNode))
    found = [
        Duplicate(paths.get(id(node), ()), k.value, _mark(first), _mark(k)) for node, first, k in repeats
    ]
    return sorted(found, key=lambda d: d.repeat)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _yaml_problem(file: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    if isinstance(exc, yaml.constructor.ConstructorError):
        return Problem(
            file, line, column, "", f"YAML value cannot be read: {exc.problem}", _constructor_hint(exc)
        )
    message = f"YAML syntax error: {exc.problem or exc.context or 'cannot parse'}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    hint = _SYNTAX_HINT
    source_lines = text.splitlines()
    if (
        mark is not None
        and mark.line < len(source_lines)
        and "\t" in source_lines[mark.line][: mark.column + 1]
    ):
        hint = "YAML does not allow tabs for indentation: indent with spaces."
    elif exc.context and "flow" in exc.context and exc.context_mark is not None:
        opener = "[" if "sequence" in exc.context else "{"
        hint = f"Close the '{opener}' opened at line {exc.context_mark.line + 1}, or quote the text if it is a value."
    elif exc.problem and "single document" in exc.problem:
        hint = "Keep all personas in one document: remove the '---' separator (or split the file)."
    return Problem(file, line, column, "", message, hint)


def _constructor_hint(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or ""
    if "recursive" in problem:
        return "Remove the alias (*name) that points at the node it is inside."
    if "tag" in problem:
        return "Remove the tag: persona files hold only text, lists and mappings."
    if "unhashable" in problem:
        return "Use plain text as the key."
    return "Write the value as plain text, a list or a mapping."
