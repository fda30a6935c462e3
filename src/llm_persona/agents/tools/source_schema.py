"""A custom tool's JSON schema, read from its Python source with `ast` (the code is never run).

    schema_from_source('''
    def get_weather(city: str, units: Literal["C", "F"] = "C") -> str:
        \"\"\"Current weather in a city.

        Args:
            city: The city's name.
            units: Temperature units.
        \"\"\"
    ''')
    # {"name": "get_weather", "description": "Current weather in a city.",
    #  "parameters": {"type": "object", "properties": {...}, "required": ["city"]}}

The tool is the function named `name`, or else the last top-level function. Types come from the
annotations, optional parameters from defaults, descriptions from a Google-style docstring.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from llm_persona.errors import AgentError

#: Parameters the runtime fills in itself; the model never sees them (as in Letta).
HIDDEN_PARAMETERS = frozenset({"agent_state"})

_SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_CONTAINERS = {"list": "array", "List": "array", "dict": "object", "Dict": "object"}
_SUPPORTED = "str, int, float, bool, list[...], dict[str, ...], Literal[...] or Optional[...]"
_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ARG = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters", "Params"}

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_TOO_DEEP = (
    "The tool's source nests expressions too deeply to read (a very long chain of operators or "
    "brackets); simplify it and submit the tool again."
)


class ToolSourceError(AgentError):
    """A custom tool's source cannot be turned into a tool schema; the message says how to fix it."""


def schema_from_source(source_code: str, name: str | None = None) -> dict[str, Any]:
    """The `{"name", "description", "parameters"}` schema of the tool defined in `source_code`."""
    try:
        return _schema(find_function(source_code, name))
    except RecursionError:  # an annotation like `None | None | ... | int`, nested past the stack
        raise ToolSourceError(_TOO_DEEP) from None


def _schema(function: FunctionNode) -> dict[str, Any]:
    summary, arg_docs = parse_docstring(ast.get_docstring(function) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, has_default in _parameters(function):
        if arg.arg in HIDDEN_PARAMETERS:
            continue
        prop = _annotation_schema(arg, function.name)
        if arg.arg in arg_docs:
            prop["description"] = arg_docs[arg.arg]
        properties[arg.arg] = prop
        if not has_default:
            required.append(arg.arg)
    return {
        "name": function.name,
        "description": summary,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }


def find_function(source_code: str, name: str | None = None) -> FunctionNode:
    """The top-level function `name` (the last one if redefined), or the last top-level function."""
    try:
        tree = ast.parse(source_code)
    except SyntaxError as exc:
        raise ToolSourceError(
            f"The tool's source has a syntax error at line {exc.lineno}, column {exc.offset}: {exc.msg}. "
            "Fix it and submit the tool again."
        ) from exc
    except (RecursionError, MemoryError):  # the parser's stack overflowed: `-----...1`, `1+1+...+1`
        raise ToolSourceError(_TOO_DEEP) from None
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not functions:
        raise ToolSourceError(
            "No function found in the tool's source. Define one top-level function, "
            "e.g. `def roll_dice(sides: int) -> str:` with a docstring saying what it does."
        )
    if name is None:
        return functions[-1]
    named = [f for f in functions if f.name == name]
    if not named:
        found = ", ".join(f"`{f.name}`" for f in functions)
        raise ToolSourceError(
            f"No function named `{name}` in the tool's source (found {found}). "
            f"Define `def {name}(...)` or name the tool after its function."
        )
    return named[-1]


def parse_docstring(docstring: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring as (description, {argument: description}); `Returns:` is ignored."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent = 0
    for line in docstring.splitlines():
        header = _SECTION.match(line)
        if header:
            section, current = header.group(1).strip(), None
        elif section is None:
            summary.append(line.strip())
        elif section in _ARGS_SECTIONS and line.strip():
            indent = len(line) - len(line.lstrip())
            entry = _ARG.match(line.strip())
            if entry and (current is None or indent <= entry_indent):
                current, entry_indent = entry.group(1), indent
                args[current] = entry.group(2).strip()
            elif current is not None:  # a continuation line
                args[current] = f"{args[current]} {line.strip()}".strip()
    paragraphs = "\n".join(summary).strip().split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip()), args


def _parameters(function: FunctionNode) -> list[tuple[ast.arg, bool]]:
    """Each parameter with whether it has a default; rejects what a keyword call cannot fill."""
    a = function.args
    for stars, extra in (("*", a.vararg), ("**", a.kwarg)):
        if extra is not None:
            raise ToolSourceError(
                f"`{function.name}` takes `{stars}{extra.arg}`; a tool's parameters must be named so the "
                "model knows what to send. Replace it with named parameters (a `list` or `dict` one if needed)."
            )
    if a.posonlyargs:
        raise ToolSourceError(
            f"Parameter `{a.posonlyargs[0].arg}` of `{function.name}` is positional-only; tools are "
            "called with keyword arguments. Remove the `/` from the signature."
        )
    positional = [(arg, i >= len(a.args) - len(a.defaults)) for i, arg in enumerate(a.args)]
    keyword = [(arg, default is not None) for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
    return positional + keyword


def _annotation_schema(arg: ast.arg, function: str) -> dict[str, Any]:
    if arg.annotation is None:
        raise ToolSourceError(
            f"Parameter `{arg.arg}` of `{function}` has no type annotation; annotate it "
            f"(e.g. `{arg.arg}: str`) so the model knows what to send. Supported: {_SUPPORTED}."
        )
    try:
        return _type_schema(arg.annotation)
    except _Unsupported as exc:
        raise ToolSourceError(
            f"Parameter `{arg.arg}` of `{function}` has type `{ast.unparse(arg.annotation)}`, which "
            f"cannot be described as JSON{exc.hint}. Use {_SUPPORTED}."
        ) from None


class _Unsupported(Exception):
    def __init__(self, hint: str = "") -> None:
        self.hint = f" ({hint})" if hint else ""


def _type_schema(node: ast.expr) -> dict[str, Any]:
    """The JSON schema for one annotation node; raises `_Unsupported`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
        try:
            return _type_schema(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            raise _Unsupported() from None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node])
    name = _name(node.value if isinstance(node, ast.Subscript) else node)
    if not isinstance(node, ast.Subscript):
        if name in _SCALARS:
            return {"type": _SCALARS[name]}
        if name in _CONTAINERS:
            return {"type": _CONTAINERS[name]}
        raise _Unsupported()
    items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if name in ("list", "List") and len(items) == 1:
        return {"type": "array", "items": _type_schema(items[0])}
    if name in ("dict", "Dict") and len(items) == 2:
        if _name(items[0]) != "str":
            raise _Unsupported("JSON object keys are strings; use dict[str, ...]")
        return {"type": "object", "additionalProperties": _type_schema(items[1])}
    if name == "Optional" and len(items) == 1:
        return _union([items[0], ast.Constant(None)])
    if name == "Union":
        return _union(items)
    if name == "Literal":
        return _literal(items)
    raise _Unsupported()


def _union(members: list[ast.expr]) -> dict[str, Any]:
    """`X | None` and `Optional[X]` are X that may be null; any other union is refused."""
    flat = [leaf for m in members for leaf in _or_leaves(m)]
    rest = [m for m in flat if not (isinstance(m, ast.Constant) and m.value is None) and _name(m) != "None"]
    if len(rest) != 1:
        raise _Unsupported("a union of several types; pick one, e.g. str")
    schema = _type_schema(rest[0])
    if len(rest) == len(flat):
        return schema
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _or_leaves(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _or_leaves(node.left) + _or_leaves(node.right)
    return [node]


def _literal(items: list[ast.expr]) -> dict[str, Any]:
    try:
        values = [ast.literal_eval(item) for item in items]
    except ValueError:
        raise _Unsupported("Literal values must be plain constants") from None
    kinds = {type(v) for v in values}
    if len(kinds) != 1 or (kind := kinds.pop()).__name__ not in _SCALARS:
        raise _Unsupported("Literal values must all be str, all int, all float or all bool")
    return {"type": _SCALARS[kind.__name__], "enum": values}


def _name(node: ast.expr) -> str | None:
    """`str`, `typing.List` or `t.Literal` as its last name; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None
