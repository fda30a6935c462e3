"""The agent loop through the public runtime: turns, tool calls, stop reasons, persistence."""

from __future__ import annotations

import json

import pytest

from llm_persona import AgentNotFoundError, MissingVariablesError, ModelRateLimitError, PersonaNotFoundError
from llm_persona.agents import AgentRuntime, MessageCommitted, TurnEnded
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.llm.types import ModelResponse, ToolCall, Usage
from llm_persona.store import Store


async def new_agent(runtime: AgentRuntime, **overrides: object):
    fields: dict = {
        "name": "maya-1",
        "persona": "Maya",
        "persona_vars": {"user_name": "Bob"},
        "memory_blocks": [{"label": "human", "value": "Name: Bob", "limit": 60}],
        "model": "scripted/test",
    }
    fields.update(overrides)
    return await runtime.create_agent(**fields)


def history(store: Store, agent_id: str) -> list[tuple]:
    return [
        (m.seq, m.role, m.content, [c["name"] for c in m.tool_calls], m.tool_status)
        for m in store.list_messages("default", agent_id, limit=1000)
    ]


async def test_plain_text_ends_the_turn(runtime: AgentRuntime, model: ScriptedModel, store: Store) -> None:
    agent = await new_agent(runtime)
    model.add(ModelResponse("Hi Bob!", [], Usage(120, 5), "stop", "test"))
    result = await runtime.send(agent.id, "hello")
    assert result.stop_reason == "end_turn"
    assert result.step_count == 1
    assert result.usage == Usage(120, 5)
    assert [(m.role, m.content) for m in result.messages] == [("user", "hello"), ("assistant", "Hi Bob!")]
    assert history(store, agent.id) == [(1, "user", "hello", [], None), (2, "assistant", "Hi Bob!", [], None)]
    step = store.list_steps("default", agent.id)[0]
    assert (step.persona_name, step.persona_version, step.input_tokens) == ("Maya", 1, 120)


async def test_tool_calls_continue_until_plain_text_and_usage_is_summed(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    agent = await new_agent(runtime)
    model.add(
        ModelResponse(
            None,
            [
                ToolCall(
                    "c1",
                    "memory_replace",
                    json.dumps({"label": "human", "old_str": "Bob", "new_str": "Robert"}),
                )
            ],
            Usage(100, 10),
            "tool_calls",
            "test",
        ),
        ModelResponse("Noted, Robert.", [], Usage(150, 4), "stop", "test"),
    )
    result = await runtime.send(agent.id, "call me Robert")
    assert result.stop_reason == "end_turn"
    assert result.step_count == 2
    assert result.usage == Usage(250, 14)
    assert history(store, agent.id) == [
        (1, "user", "call me Robert", [], None),
        (2, "assistant", None, ["memory_replace"], None),
        (
            3,
            "tool",
            json.dumps(
                {
                    "status": "OK",
                    "message": "Memory block `human` edited; your system prompt now shows the new value. "
                    "Check it is as intended.",
                }
            ),
            [],
            "success",
        ),
        (4, "assistant", "Noted, Robert.", [], None),
    ]
    assert store.agent_block("default", agent.id, "human").value == "Name: Robert"
    # the second call already sees the edited block
    assert "Name: Robert" in model.requests[1].messages[0].content


async def test_max_steps_stops_a_model_that_keeps_calling_tools(
    runtime: AgentRuntime, model: ScriptedModel
) -> None:
    agent = await new_agent(runtime)
    model.add(*[[tool_call("conversation_search", query="x")] for _ in range(3)])
    result = await runtime.send(agent.id, "loop", max_steps=3)
    assert result.stop_reason == "max_steps"
    assert result.step_count == 3
    assert model.remaining == 0


async def test_model_failure_is_an_error_stop_and_the_agent_stays_usable(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    agent = await new_agent(runtime)
    model.add(ModelRateLimitError("rate limited (test)", provider="scripted", model="test"), "Back again.")
    failed = await runtime.send(agent.id, "first")
    assert failed.stop_reason == "llm_api_error"
    assert failed.error == "rate limited (test)"
    assert [m.role for m in failed.messages] == ["user"]  # the user's message is kept
    ok = await runtime.send(agent.id, "second")
    assert ok.stop_reason == "end_turn"
    assert [m.role for m in model.requests[-1].messages] == ["system", "user", "user"]
    assert [m[1] for m in history(store, agent.id)] == ["user", "user", "assistant"]
    assert store.list_steps("default", agent.id, order="asc")[0].error == "rate limited (test)"


async def test_stream_yields_messages_as_steps_commit(runtime: AgentRuntime, model: ScriptedModel) -> None:
    agent = await new_agent(runtime)
    model.add([tool_call("memory_insert", label="human", new_str="Likes tea")], "Done.")
    kinds = []
    async for event in runtime.stream(agent.id, "remember I like tea"):
        kinds.append(event.message.role if isinstance(event, MessageCommitted) else type(event).__name__)
    assert kinds == ["user", "assistant", "tool", "assistant", "TurnEnded"]


async def test_streaming_tokens_share_the_message_id(runtime: AgentRuntime, model: ScriptedModel) -> None:
    agent = await new_agent(runtime)
    model.add("Hello there, Bob.")
    events = [e async for e in runtime.stream(agent.id, "hi", stream_tokens=True)]
    deltas = [e for e in events if type(e).__name__ == "TextDelta"]
    committed = [e.message for e in events if isinstance(e, MessageCommitted)]
    assert "".join(d.text for d in deltas) == "Hello there, Bob."
    assert {d.message_id for d in deltas} == {committed[-1].id}
    assert isinstance(events[-1], TurnEnded)


async def test_bad_input_is_refused_and_creates_nothing(runtime: AgentRuntime, store: Store) -> None:
    with pytest.raises(MissingVariablesError, match="user_name"):
        await new_agent(runtime, persona_vars={})
    with pytest.raises(PersonaNotFoundError):
        await new_agent(runtime, persona="Nobody")
    with pytest.raises(PersonaNotFoundError):
        await new_agent(runtime, persona_label="canary")
    assert store.count_agents("default") == 0
    with pytest.raises(AgentNotFoundError):
        await runtime.send("agent-does-not-exist", "hi")


@pytest.mark.parametrize(
    ("llm_config", "timeout", "retries"),
    [
        ({}, 60.0, 2),  # ModelSettings' defaults
        ({"timeout": None, "max_retries": None}, 60.0, 2),  # null (e.g. from an agent file) means default
        ({"timeout": "12.5", "max_retries": 0}, 12.5, 0),
    ],
)
async def test_model_calls_get_the_agents_timeout_and_retries(
    runtime: AgentRuntime, model: ScriptedModel, llm_config: dict, timeout: float, retries: int
) -> None:
    agent = await new_agent(runtime, llm_config=llm_config)
    model.add(ModelResponse("ok", [], Usage(1, 1), "stop", "test"))
    await runtime.send(agent.id, "hello")
    settings = model.requests[-1].settings
    assert (settings.timeout, settings.max_retries) == (timeout, retries)
