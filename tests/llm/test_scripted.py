"""ScriptedModel and FunctionModel: the models users test their agents with."""

from __future__ import annotations

import json

import pytest

from llm_persona.errors import ModelRateLimitError
from llm_persona.llm import (
    ChatMessage,
    FunctionModel,
    ModelRequest,
    ModelResponse,
    ResponseDone,
    ScriptedModel,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    tool_call,
)


def ask(text: str) -> ModelRequest:
    return ModelRequest([ChatMessage.user(text)])


async def test_replies_come_in_order_and_requests_are_recorded() -> None:
    call = tool_call("memory_append", label="human", text="likes tea")
    model = ScriptedModel(["Hi!", [call], ModelResponse("Done.", [], Usage(1, 2), "stop", "m")])

    first = await model.request(ask("one"))
    second = await model.request(ask("two"))
    third = await model.request(ask("three"))

    assert (first.text, first.finish_reason) == ("Hi!", "stop")
    assert (second.text, second.tool_calls, second.finish_reason) == (None, [call], "tool_calls")
    assert third.usage == Usage(1, 2)
    assert [r.messages[0].content for r in model.requests] == ["one", "two", "three"]
    assert model.last_request.messages[0].content == "three"
    assert model.remaining == 0


async def test_an_exception_in_the_script_is_raised() -> None:
    model = ScriptedModel([ModelRateLimitError("slow down"), "after"])

    with pytest.raises(ModelRateLimitError, match="slow down"):
        await model.request(ask("x"))
    assert (await model.request(ask("y"))).text == "after"


async def test_running_out_of_replies_fails_loudly() -> None:
    model = ScriptedModel(["only one"])
    await model.request(ask("x"))

    with pytest.raises(AssertionError, match="asked 2 times but scripted only 1"):
        await model.request(ask("y"))


async def test_add_extends_the_script() -> None:
    model = ScriptedModel([])
    model.add("late")

    assert (await model.request(ask("x"))).text == "late"


async def test_stream_cuts_text_into_deltas_and_ends_with_done() -> None:
    call = tool_call("search", query="tea")
    model = ScriptedModel([ModelResponse("a fairly long answer", [call], Usage(), "tool_calls", "m")])

    events = [e async for e in model.stream(ask("x"))]

    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) > 1
    assert "".join(texts) == "a fairly long answer"
    assert [e for e in events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(0, call.id, "search", call.arguments)
    ]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.tool_calls == [call]
    assert len(model.requests) == 1


async def test_usage_is_estimated_for_text_replies() -> None:
    model = ScriptedModel(["x" * 40])

    response = await model.request(ask("y" * 400))

    assert response.usage.input_tokens == 101
    assert response.usage.output_tokens == 11


async def test_function_model_sync_and_async() -> None:
    def shout(request: ModelRequest) -> str:
        return (request.messages[-1].content or "").upper()

    async def call_tool(request: ModelRequest) -> list[ToolCall]:
        return [ToolCall("c1", "echo", json.dumps({"text": request.messages[-1].content}))]

    assert (await FunctionModel(shout).request(ask("hey"))).text == "HEY"
    response = await FunctionModel(call_tool).request(ask("hey"))
    assert response.tool_calls == [ToolCall("c1", "echo", '{"text": "hey"}')]


async def test_function_model_records_and_streams() -> None:
    model = FunctionModel(lambda request: "streamed reply", handle="scripted/fn")

    events = [e async for e in model.stream(ask("x"))]

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "streamed reply"
    assert model.handle == "scripted/fn"
    assert len(model.requests) == 1


def test_tool_call_helper() -> None:
    a = tool_call("core_memory_replace", label="persona", old="x", new="y")
    b = tool_call("core_memory_replace", label="persona", old="x", new="y")

    assert a.name == "core_memory_replace"
    assert json.loads(a.arguments) == {"label": "persona", "old": "x", "new": "y"}
    assert a.id != b.id
    assert a.id.startswith("call_")
    assert json.loads(tool_call("f", name="an argument called name").arguments) == {
        "name": "an argument called name"
    }
