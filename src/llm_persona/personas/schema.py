"""The JSON Schema of the persona file format (shipped as `schema.json`), and a fast check built
from it so that large files need the full validator only for the entries that are wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

#: Where the shipped schema says it lives (its `$id`).
SCHEMA_ID = "https://llm-persona.dev/schema/personas.json"

Check = Callable[[Any], bool]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "null": (type(None),),
}
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "then", "else"})


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("llm_persona.personas").joinpath("schema.json").read_text(encoding="utf-8")


def persona_file_schema() -> dict[str, Any]:
    """The persona file schema (JSON Schema draft 2020-12), as a fresh dict the caller may change."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@lru_cache(maxsize=1)
def persona_check() -> Check:
    """A fast yes/no check of one persona entry against the schema's `$defs/persona`."""
    schema = persona_file_schema()
    return compile_check(schema["$defs"]["persona"], schema)


def compile_check(schema: Mapping[str, Any] | bool, root: Mapping[str, Any] | None = None) -> Check:
    """A function telling whether a value is valid against `schema`, as `Draft202012Validator.is_valid`
    would, for the keywords the persona schema uses. Any other keyword raises `ValueError`."""
    if isinstance(schema, bool):
        return (lambda _: True) if schema else (lambda _: False)
    root = schema if root is None else root
    checks = [_keyword(k, v, schema, root) for k, v in schema.items() if k not in _ANNOTATIONS]
    if len(checks) == 1:
        return checks[0]

    def check_all(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop is faster, and this runs for every node
            if not check(value):
                return False
        return True

    return check_all


def _keyword(keyword: str, arg: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Check:
    if keyword == "type":
        kinds = tuple(t for name in ([arg] if isinstance(arg, str) else arg) for t in _TYPES[name])
        return lambda v: isinstance(v, kinds)
    if keyword == "properties":
        props = {name: compile_check(sub, root) for name, sub in arg.items()}

        def check_properties(v: Any) -> bool:
            if isinstance(v, dict):
                for k, x in v.items():
                    sub_check = props.get(k)
                    if sub_check is not None and not sub_check(x):
                        return False
            return True

        return check_properties
    if keyword == "additionalProperties":
        if "patternProperties" in schema:
            raise ValueError("patternProperties is not supported")
        named = frozenset(schema.get("properties", ()))
        extra = compile_check(arg, root)
        return lambda v: not isinstance(v, dict) or all(extra(x) for k, x in v.items() if k not in named)
    if keyword == "propertyNames":
        key_check = compile_check(arg, root)
        return lambda v: not isinstance(v, dict) or all(key_check(k) for k in v)
    if keyword == "items":
        item_check = compile_check(arg, root)
        return lambda v: not isinstance(v, list) or all(item_check(x) for x in v)
    if keyword == "enum":
        if not all(isinstance(choice, str) for choice in arg):
            raise ValueError("only enums of strings are supported")
        choices = frozenset(arg)
        return lambda v: isinstance(v, str) and v in choices
    if keyword == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= arg
    if keyword == "pattern":
        regex = re.compile(arg)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None
    if keyword == "required":
        return lambda v: not isinstance(v, dict) or all(name in v for name in arg)
    if keyword == "not":
        negated = compile_check(arg, root)
        return lambda v: not negated(v)
    if keyword == "if":
        condition = compile_check(arg, root)
        then, otherwise = (
            compile_check(schema.get("then", True), root),
            compile_check(schema.get("else", True), root),
        )
        return lambda v: then(v) if condition(v) else otherwise(v)
    if keyword == "$ref" and isinstance(arg, str) and arg.startswith("#/$defs/"):
        target = root["$defs"][arg.removeprefix("#/$defs/")]
        compiled: dict[str, Check] = {}  # compiled on first use, so a schema may refer to itself

        def ref(value: Any) -> bool:
            if arg not in compiled:
                compiled[arg] = compile_check(target, root)
            return compiled[arg](value)

        return ref
    raise ValueError(f"schema keyword {keyword!r} is not supported by the fast check")
