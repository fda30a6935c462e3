"""Deriving a custom tool's JSON schema from its source, without running it."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from llm_persona.agents.tools.source_schema import ToolSourceError, schema_from_source
from llm_persona.errors import AgentError

WEATHER = '''
from typing import Literal, Optional


def _helper(x):
    return x


def get_weather(city: str, days: int = 1, units: Literal["C", "F"] = "C", agent_state=None) -> str:
    """Current weather in a city.

    Uses the public forecast service;
    results are cached for an hour.

    Args:
        city (str): The city's name,
            e.g. "Paris".
        days: How many days ahead.
        units: Temperature units.

    Returns:
        str: A sentence about the weather.
    """
    raise RuntimeError("never run")
'''


def params(annotation: str, default: str = "") -> dict[str, Any]:
    """The schema of parameter `p` annotated with `annotation`."""
    source = f"from typing import *\nimport typing\ndef tool(p: {annotation}{default}) -> str:\n    pass\n"
    parameters: dict[str, Any] = schema_from_source(source)["parameters"]
    return parameters


def test_whole_schema() -> None:
    assert schema_from_source(WEATHER) == {
        "name": "get_weather",
        "description": "Current weather in a city.\n\nUses the public forecast service; results are cached for an hour.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": 'The city\'s name, e.g. "Paris".'},
                "days": {"type": "integer", "description": "How many days ahead."},
                "units": {"type": "string", "enum": ["C", "F"], "description": "Temperature units."},
            },
            "required": ["city"],
        },
    }


def test_the_source_is_never_run() -> None:
    schema_from_source("import os\nos._exit(1)\nraise SystemExit\ndef t(x: str) -> str:\n    pass\n")


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("str", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("list", {"type": "array"}),
        ("dict", {"type": "object"}),
        ("list[str]", {"type": "array", "items": {"type": "string"}}),
        ("List[int]", {"type": "array", "items": {"type": "integer"}}),
        ("typing.List[float]", {"type": "array", "items": {"type": "number"}}),
        ("list[list[bool]]", {"type": "array", "items": {"type": "array", "items": {"type": "boolean"}}}),
        ("dict[str, int]", {"type": "object", "additionalProperties": {"type": "integer"}}),
        (
            "Dict[str, list[str]]",
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        ),
        ("Optional[str]", {"type": ["string", "null"]}),
        ("str | None", {"type": ["string", "null"]}),
        ("None | int", {"type": ["integer", "null"]}),
        ("Union[float, None]", {"type": ["number", "null"]}),
        ("Optional[list[str]]", {"type": ["array", "null"], "items": {"type": "string"}}),
        ('Literal["a", "b"]', {"type": "string", "enum": ["a", "b"]}),
        ("Literal[1, 2, 3]", {"type": "integer", "enum": [1, 2, 3]}),
        ("typing.Literal[True]", {"type": "boolean", "enum": [True]}),
        ('Literal["a"] | None', {"type": ["string", "null"], "enum": ["a", None]}),
        ('"str"', {"type": "string"}),
        ('"list[int] | None"', {"type": ["array", "null"], "items": {"type": "integer"}}),
    ],
)
def test_annotation_types(annotation: str, expected: dict[str, Any]) -> None:
    assert params(annotation)["properties"]["p"] == expected
    assert params(annotation)["required"] == ["p"]


@pytest.mark.parametrize("default", ["= None", '= "x"', "= 0", "= []"])
def test_a_default_makes_a_parameter_optional(default: str) -> None:
    assert params("Optional[str]", default)["required"] == []


def test_keyword_only_parameters() -> None:
    schema = schema_from_source("def t(a: str, *, b: int, c: bool = False) -> str:\n    pass\n")
    assert list(schema["parameters"]["properties"]) == ["a", "b", "c"]
    assert schema["parameters"]["required"] == ["a", "b"]


def test_async_functions_and_no_parameters() -> None:
    schema = schema_from_source('async def ping() -> str:\n    """Say pong."""\n')
    assert schema == {
        "name": "ping",
        "description": "Say pong.",
        "parameters": {"type": "object", "properties": {}, "required": []},
    }


def test_agent_state_is_hidden_even_with_an_annotation() -> None:
    schema = schema_from_source("def t(x: str, agent_state: 'AgentState') -> str:\n    pass\n")
    assert list(schema["parameters"]["properties"]) == ["x"]
    assert schema["parameters"]["required"] == ["x"]


# --- which function --------------------------------------------------------------------------------


def test_the_last_top_level_function_is_the_tool() -> None:
    source = (
        "def first(a: str): pass\nclass K:\n    def method(self, b: int): pass\ndef second(c: int): pass\n"
    )
    assert schema_from_source(source)["name"] == "second"


def test_the_function_named_like_the_tool() -> None:
    source = "def first(a: str): pass\ndef second(c: int): pass\n"
    assert schema_from_source(source, "first")["parameters"]["required"] == ["a"]


def test_nested_functions_are_not_tools() -> None:
    with pytest.raises(ToolSourceError, match="No function found"):
        schema_from_source("class K:\n    def m(self, x: int): pass\nx = 1\n")


# --- docstrings --------------------------------------------------------------------------------------


def doc(docstring: str) -> tuple[str, dict[str, Any]]:
    body = textwrap.indent(f'"""{textwrap.dedent(docstring)}"""', "    ")
    schema = schema_from_source(f"def t(a: str, b: int = 0) -> str:\n{body}\n")
    return schema["description"], schema["parameters"]["properties"]


def test_no_docstring_means_no_descriptions() -> None:
    assert doc("") == ("", {"a": {"type": "string"}, "b": {"type": "integer"}})


def test_summary_only() -> None:
    assert doc("Do a thing.")[0] == "Do a thing."


def test_a_parameter_missing_from_args_has_no_description() -> None:
    _, props = doc(
        """
        Do a thing.

        Args:
            a: The a.
        """
    )
    assert props == {"a": {"type": "string", "description": "The a."}, "b": {"type": "integer"}}


def test_other_sections_are_ignored() -> None:
    description, props = doc(
        """Do a thing.

        Arguments:
            a (str, optional): The a,
                over two lines.
            b: The b.
            unknown: Not a parameter.
        Returns:
            a: not an argument.
        Raises:
            ValueError: when bad.
        Example:
            b: 3
        """
    )
    assert description == "Do a thing."
    assert props["a"]["description"] == "The a, over two lines."
    assert props["b"]["description"] == "The b."
    assert "unknown" not in props


def test_continuation_lines_that_look_like_entries() -> None:
    _, props = doc(
        """Do.

        Args:
            a: Either
                note: this line continues a.
            b: The b.
        """
    )
    assert props["a"]["description"] == "Either note: this line continues a."


# --- errors ------------------------------------------------------------------------------------------


def error(source: str, name: str | None = None) -> str:
    with pytest.raises(ToolSourceError) as info:
        schema_from_source(source, name)
    assert isinstance(info.value, AgentError)
    return str(info.value)


def test_syntax_error_says_where() -> None:
    message = error("def t(x: str) -> str:\n    return (\n")
    assert message.startswith("The tool's source has a syntax error at line 2, column 12:")


def test_no_function() -> None:
    assert "No function found in the tool's source" in error("x = 1\n")


def test_named_function_missing() -> None:
    message = error("def a(x: str): pass\ndef b(x: str): pass\n", "c")
    assert message == (
        "No function named `c` in the tool's source (found `a`, `b`). "
        "Define `def c(...)` or name the tool after its function."
    )


@pytest.mark.parametrize(("signature", "star"), [("*args", "*args"), ("x: str, **kw", "**kw")])
def test_star_parameters(signature: str, star: str) -> None:
    message = error(f"def t({signature}): pass\n")
    assert message.startswith(f"`t` takes `{star}`; a tool's parameters must be named")


def test_positional_only() -> None:
    assert "Parameter `x` of `t` is positional-only" in error("def t(x: str, /): pass\n")


def test_missing_annotation() -> None:
    message = error("def t(city): pass\n")
    assert message.startswith(
        "Parameter `city` of `t` has no type annotation; annotate it (e.g. `city: str`)"
    )


def test_unsupported_annotation_message() -> None:
    assert error("def t(when: datetime) -> str: pass\n") == (
        "Parameter `when` of `t` has type `datetime`, which cannot be described as JSON. "
        "Use str, int, float, bool, list[...], dict[str, ...], Literal[...] or Optional[...]."
    )


@pytest.mark.parametrize(
    ("annotation", "hint"),
    [
        ("Any", ""),
        ("tuple[int, int]", ""),
        ("MyModel", ""),
        ("None", ""),
        ("set[str]", ""),
        ("str | int", "a union of several types; pick one, e.g. str"),
        ("Union[str, int, None]", "a union of several types; pick one, e.g. str"),
        ("dict[int, str]", "JSON object keys are strings; use dict[str, ...]"),
        ("Literal['a', 1]", "Literal values must all be str, all int, all float or all bool"),
        ("Literal[x]", "Literal values must be plain constants"),
        ('"not valid("', ""),
    ],
)
def test_unsupported_annotations_say_what_to_use(annotation: str, hint: str) -> None:
    message = error(f"from typing import *\ndef t(p: {annotation}): pass\n")
    assert message.startswith("Parameter `p` of `t` has type `")
    assert "Use str, int, float, bool, list[...], dict[str, ...], Literal[...] or Optional[...]." in message
    if hint:
        assert f"({hint})" in message
