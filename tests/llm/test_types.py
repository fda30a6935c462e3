"""The values at the model boundary."""

from __future__ import annotations

import dataclasses

import pytest

from llm_persona.llm import ChatMessage, ModelRequest, ModelSettings, ToolCall, Usage


def test_usage_adds_up() -> None:
    total = Usage(100, 10, 80) + Usage(50, 5, 0)

    assert total == Usage(150, 15, 80)
    assert total.total_tokens == 165
    assert sum([Usage(1, 1), Usage(2, 2)], Usage()) == Usage(3, 3)


def test_message_constructors() -> None:
    call = ToolCall("c1", "f", "{}")

    assert ChatMessage.system("s") == ChatMessage("system", "s")
    assert ChatMessage.assistant(None, [call]).tool_calls == [call]
    assert ChatMessage.tool("c1", "done", name="f") == ChatMessage(
        "tool", "done", tool_call_id="c1", name="f"
    )


def test_values_are_frozen_and_defaults_are_not_shared() -> None:
    request = ModelRequest([ChatMessage.user("hi")])

    with pytest.raises(dataclasses.FrozenInstanceError):
        request.cache_prefix = "x"  # type: ignore[misc]
    assert ModelRequest([]).tools is not ModelRequest([]).tools
    assert request.settings == ModelSettings(temperature=None, max_tokens=None, timeout=60.0, max_retries=2)
