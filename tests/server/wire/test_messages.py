"""Messages on the wire: stored messages as Letta messages, `LettaResponse`, compaction, the SDK's
message calls, and a real turn whose every body validates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from letta_client import types as lt
from letta_client._models import validate_type
from letta_client.types import agents as lta
from letta_client.types.conversations.compaction_response import CompactionResponse as SdkCompaction

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime, TurnResult
from llm_persona.agents import events as ev
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.llm.types import Usage
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store import Store
from llm_persona.store.records import AgentRecord, MessageRecord
from tests.server.wire.helpers import FakeServer, sse, strict, turn_events, wire


def test_every_letta_message_validates_in_the_sdk_union(
    turn: list[MessageRecord], summary: MessageRecord
) -> None:
    for record in [*turn, summary, MessageRecord(role="system", content="Be kind.")]:
        for message in convert.letta_messages(record):
            sdk = strict(lta.Message, message)
            assert type(sdk).__name__ == type(message).__name__
            assert sdk.message_type == message.message_type
            assert sdk.id == record.id
            assert sdk.date is not None


def test_an_assistant_step_becomes_reasoning_text_and_one_tool_call_message(
    turn: list[MessageRecord],
) -> None:
    record = turn[1]
    parts = [strict(lta.Message, m) for m in convert.letta_messages(record)]
    assert [p.message_type for p in parts] == ["reasoning_message", "assistant_message", "tool_call_message"]
    assert {p.id for p in parts} == {record.id}  # one stored message, one id
    assert [p.otid for p in parts] == [convert.derived_otid(record.id, i) for i in range(3)]
    assert len({p.otid for p in parts}) == 3
    reasoning, text, calls = parts
    assert reasoning.reasoning.startswith("The user gave a name")
    assert reasoning.source == "reasoner_model"
    assert text.content == "Let me check."
    assert text.step_id == record.step_id
    assert [c.tool_call_id for c in calls.tool_calls] == ["call_1", "call_2"]
    assert (calls.tool_call.name, calls.tool_call.arguments) == (
        "memory_insert",
        '{"label": "human", "new_str": "Bo"}',
    )
    # the same record always converts to the same otids (clients dedupe on them)
    assert [m.otid for m in convert.letta_messages(record)] == [p.otid for p in parts]


def test_tool_results_unpack_the_envelope(turn: list[MessageRecord]) -> None:
    ok, failed = (strict(lta.Message, convert.letta_messages(r)[0]) for r in turn[2:4])
    assert (ok.message_type, ok.status, ok.tool_call_id, ok.tool_return) == (
        "tool_return_message",
        "success",
        "call_1",
        "Memory block `human` edited.",
    )
    assert (failed.status, failed.tool_return, failed.name) == (
        "error",
        "Tool `get_weather` cannot run.",
        "get_weather",
    )
    assert failed.tool_returns[0].status == "error"
    assert failed.tool_returns[0].tool_call_id == "call_2"


def test_a_tool_result_without_an_envelope_is_passed_through() -> None:
    record = MessageRecord(role="tool", content="plain", tool_call_id="c9", tool_name="t")
    sdk = strict(lta.Message, convert.letta_messages(record)[0])
    assert (sdk.tool_return, sdk.status) == ("plain", "success")


def test_user_messages_keep_the_client_otid(turn: list[MessageRecord]) -> None:
    sdk = strict(lta.Message, convert.letta_messages(turn[0])[0])
    assert (sdk.message_type, sdk.content, sdk.otid) == (
        "user_message",
        "I'm Bo. Where is order 42?",
        "client-otid-1",
    )


def test_a_summary_is_a_user_message_unless_compaction_messages_are_asked_for(summary: MessageRecord) -> None:
    as_user = strict(lta.Message, convert.letta_messages(summary)[0])
    assert (as_user.message_type, as_user.content) == ("user_message", summary.content)
    as_summary = strict(lta.Message, convert.letta_messages(summary, summaries_as_user=False)[0])
    assert (as_summary.message_type, as_summary.summary) == ("summary_message", summary.content)


def test_message_lists_follow_letta_order_and_filters(turn: list[MessageRecord]) -> None:
    asc = convert.letta_messages_from_list(turn)
    assert [m.message_type for m in asc] == [
        "user_message",
        "reasoning_message",
        "assistant_message",
        "tool_call_message",
        "tool_return_message",
        "tool_return_message",
        "assistant_message",
    ]
    desc = convert.letta_messages_from_list(list(reversed(turn)), reverse=True)
    assert [m.otid for m in desc] == [m.otid for m in reversed(asc)]
    only = convert.letta_messages_from_list(turn, types={"assistant_message"})
    assert [m.content for m in only if isinstance(m, w.AssistantMessage)] == [
        "Let me check.",
        "Order 42 ships tomorrow, Bo.",
    ]
    assert len(only) == 2
    sdk = validate_type(type_=list[lta.Message], value=wire(asc))
    assert len(sdk) == 7


def test_derived_otids() -> None:
    assert convert.derived_otid("message-00000000-0000-4000-8000-0000000000ff", 3).endswith("83")
    assert convert.derived_otid("custom-id", 2) == "custom-id-2"
    with pytest.raises(ValueError, match="128"):
        convert.derived_otid("message-00000000-0000-4000-8000-000000000000", 128)


def test_stop_reasons() -> None:
    for reason in [
        ev.END_TURN,
        ev.MAX_STEPS,
        ev.LLM_API_ERROR,
        ev.INVALID_LLM_RESPONSE,
        ev.ERROR,
        *w.STOP_REASONS,
    ]:
        sdk = strict(lta.LettaStreamingResponse, convert.stop_reason(reason))
        assert isinstance(sdk, lta.letta_streaming_response.LettaStopReason)
        assert sdk.stop_reason == reason
    assert convert.stop_reason("tool_calls").stop_reason == "error"  # a step's reason is no turn's reason
    assert set(w.STOP_REASONS) == set(get_args(lt.StopReasonType))


def test_letta_response_validates_and_leaves_out_the_input(
    turn: list[MessageRecord], summary: MessageRecord
) -> None:
    result = TurnResult(
        messages=[*turn, summary],
        stop_reason="end_turn",
        usage=Usage(input_tokens=1200, output_tokens=80, cached_input_tokens=1000),
        step_count=2,
    )
    sdk = strict(lta.LettaResponse, convert.letta_response(result))
    assert [m.message_type for m in sdk.messages] == [
        "reasoning_message",
        "assistant_message",
        "tool_call_message",
        "tool_return_message",
        "tool_return_message",
        "assistant_message",
        "user_message",  # the summary, as Letta sends it by default
    ]
    assert sdk.stop_reason.stop_reason == "end_turn"
    assert sdk.stop_reason.message_type == "stop_reason"
    usage = sdk.usage
    assert (usage.message_type, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        "usage_statistics",
        1200,
        80,
        1280,
    )
    assert (usage.step_count, usage.cached_input_tokens) == (2, 1000)
    compaction = strict(lta.LettaResponse, convert.letta_response(result, include_compaction_messages=True))
    assert compaction.messages[-1].message_type == "summary_message"
    only = strict(lta.LettaResponse, convert.letta_response(result, types=["assistant_message"]))
    assert [m.content for m in only.messages] == ["Let me check.", "Order 42 ships tomorrow, Bo."]


def test_compaction_response_validates() -> None:
    body = w.CompactionResponse(
        summary="Bo asked about order 42.", num_messages_before=40, num_messages_after=9
    )
    assert strict(SdkCompaction, body).num_messages_after == 9


def test_sdk_messages_round_trip(
    agent: AgentRecord, turn: list[MessageRecord], summary: MessageRecord
) -> None:
    server = FakeServer()
    result = TurnResult(messages=turn, stop_reason="end_turn", usage=Usage(300, 40, 100), step_count=2)
    run_events = [
        e
        for event in turn_events(turn)
        for e in convert.sse_events(event, run_id="run-1", stream_tokens=True)
    ]

    def create(request: httpx.Request) -> Any:
        body = w.LettaRequest.model_validate(json.loads(request.content))
        if body.streaming:
            return sse([*run_events, w.SSE_DONE])
        return convert.letta_response(result, types=body.include_return_message_types)

    server.on("POST", f"/v1/agents/{agent.id}/messages", create)
    server.on(
        "GET",
        f"/v1/agents/{agent.id}/messages",
        lambda r: [] if r.url.params.get("after") else convert.letta_messages_from_list([*turn, summary]),
    )
    client = server.client()

    answer = client.agents.messages.create(
        agent.id,
        messages=[{"role": "user", "content": "I'm Bo. Where is order 42?", "otid": "client-otid-1"}],
        max_steps=5,
        use_assistant_message=True,
    )
    assert answer.stop_reason.stop_reason == "end_turn"
    assert answer.usage.total_tokens == 340
    assert [m.message_type for m in answer.messages][-1] == "assistant_message"
    body = w.LettaRequest.model_validate(server.bodies[-1])
    assert body.inputs() == [
        {"role": "user", "content": "I'm Bo. Where is order 42?", "otid": "client-otid-1"}
    ]
    assert body.max_steps == 5
    assert body.streaming is False

    filtered = client.agents.messages.create(
        agent.id, input="hi", include_return_message_types=["assistant_message"]
    )
    assert {m.message_type for m in filtered.messages} == {"assistant_message"}
    assert w.LettaRequest.model_validate(server.bodies[-1]).inputs() == [
        {"role": "user", "content": "hi", "otid": None}
    ]

    stream = client.agents.messages.create(
        agent.id,
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "Where is "}, {"type": "text", "text": "42?"}],
            }
        ],
        streaming=True,
        stream_tokens=True,
        include_pings=True,
    )
    chunks = list(stream)
    assert [c.message_type for c in chunks][-2:] == ["stop_reason", "usage_statistics"]
    text = "".join(str(c.content) for c in chunks if isinstance(c, lta.AssistantMessage))
    assert text == "Let me check."  # in token mode only the pieces carry text (none for the last reply here)
    streamed = w.LettaRequest.model_validate(server.bodies[-1])
    assert streamed.streaming
    assert streamed.stream_tokens
    assert streamed.inputs()[0]["content"] == "Where is 42?"

    history = list(client.agents.messages.list(agent.id, order="asc", limit=50))
    assert [m.message_type for m in history][:2] == ["user_message", "reasoning_message"]
    assert history[-1].message_type == "user_message"
    assert history[-1].content == summary.content


# --- a real turn, end to end -----------------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[AgentRuntime]:
    registry = PersonaRegistry()
    registry.define(Persona(name="Maya", role="Support", custom_sections={"c": "Customer: {user_name}."}))
    script = ScriptedModel(
        [
            [tool_call("memory_insert", label="human", new_str="Name: Bo")],
            "Noted, Bo. Order 42 ships tomorrow.",
            "You're welcome.",
        ]
    )
    store = Store.open(str(tmp_path / "wire.db"))
    try:
        yield AgentRuntime(store, personas=registry, models=lambda handle: script)
    finally:
        store.close()


async def test_a_real_turn_converts_to_valid_bodies(runtime: AgentRuntime) -> None:
    body = w.CreateAgent.model_validate(
        {
            "name": "maya-1",
            "memory_blocks": [{"label": "human", "value": "", "limit": 500}],
            "model": "scripted/model",
            "persona": "Maya",
            "persona_vars": {"user_name": "Bo"},
        }
    )
    agent = await runtime.create_agent(**body.runtime_kwargs())
    events = [e async for e in runtime.stream(agent.id, "I'm Bo, where is order 42?", stream_tokens=True)]
    for event in events:
        for chunk in convert.stream_chunks(event, stream_tokens=True):
            strict(lta.LettaStreamingResponse, chunk)
    result = await runtime.send(agent.id, "Thanks!")
    strict(lta.LettaResponse, convert.letta_response(result))

    store = runtime.store
    agent = store.get_agent(runtime.tenant, agent.id)
    state = store.load_agent_state(runtime.tenant, agent.id)
    sdk = strict(lt.AgentState, convert.agent_state(agent, state.blocks, state.tools))
    assert sdk.blocks[0].value == "Name: Bo"
    assert (sdk.model_extra or {})["persona"] == "Maya"
    assert {t.name for t in sdk.tools} == {
        "memory_insert",
        "memory_replace",
        "conversation_search",
        "archival_memory_insert",
        "archival_memory_search",
    }
    history = store.list_messages(runtime.tenant, agent.id)
    listed = validate_type(type_=list[lta.Message], value=wire(convert.letta_messages_from_list(history)))
    assert [m.message_type for m in listed][:4] == [
        "user_message",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
