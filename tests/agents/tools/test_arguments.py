"""A tool call's arguments are checked against the tool's schema; every problem is a ToolError."""

from __future__ import annotations

import pytest

from llm_persona.agents.memory import ToolError
from llm_persona.agents.tools.arguments import check_arguments

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
    "required": ["label"],
}


def test_arguments_that_fit_pass() -> None:
    check_arguments("t", {"label": "human", "limit": 3}, SCHEMA)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "Bad arguments for `t`: 'label' is a required property."),
        ({"label": 5}, "Bad arguments for `t`: 5 is not of type 'string'."),
        ({"label": "x", "limit": 0}, "Bad arguments for `t`: 0 is less than the minimum of 1."),
    ],
)
def test_arguments_that_do_not_fit_are_a_tool_error(args: dict, message: str) -> None:
    with pytest.raises(ToolError) as caught:
        check_arguments("t", args, SCHEMA)
    assert str(caught.value) == message


def test_a_tool_whose_schema_is_no_schema_is_a_tool_error_naming_the_fix() -> None:
    with pytest.raises(ToolError, match=r"Tool `broken` cannot be called: its parameters schema is invalid"):
        check_arguments("broken", {}, {"type": "no-such-type"})
