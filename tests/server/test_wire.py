"""The wire contract with the official `letta-client` SDK (1.12.1), in strict mode.

Every response model is built from realistic records through `convert`, sent through JSON, and
validated with the SDK's own type the way `Letta(_strict_response_validation=True)` does it
(`letta_client._models.validate_type`). Request bodies are captured from the real SDK client (an
httpx mock transport stands in for the server) and parsed with our request models; the same fake
server answers with our converted bodies, so every SDK call below also parses them strictly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from letta_client import APIError, Letta
from letta_client import types as lt
from letta_client._models import validate_type
from letta_client.types import agents as lta
from letta_client.types.agents import message_create_params
from letta_client.types.conversations.compaction_response import CompactionResponse as SdkCompaction
from pydantic import BaseModel, ValidationError

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime, MessageCommitted, TextDelta, ToolCallDelta, TurnEnded, TurnResult
from llm_persona.agents import events as ev
from llm_persona.agents.runtime import DriftEntry
from llm_persona.agents.tools.builtin import BUILTIN_TOOLS
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.llm.types import Usage
from llm_persona.personas.diff import diff_versions
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store import Store
from llm_persona.store.records import (
    AgentRecord,
    BlockRecord,
    MessageRecord,
    PassageRecord,
    PersonaVersionRecord,
    ToolRecord,
)

# --- helpers ---------------------------------------------------------------------------------------


def wire(model: BaseModel | list[Any]) -> Any:
    """What goes over the wire: the model as JSON, read back."""
    if isinstance(model, list):
        return [wire(m) for m in model]
    return json.loads(model.model_dump_json())


def strict(sdk_type: Any, model: BaseModel | list[Any]) -> Any:
    """Validate our body with the SDK's type, as the strict client does."""
    return validate_type(type_=sdk_type, value=wire(model))


def builtin_tool(name: str) -> ToolRecord:
    spec = BUILTIN_TOOLS[name]
    schema = {"name": name, "description": spec.description, "parameters": spec.parameters}
    return ToolRecord(name=name, description=spec.description, json_schema=schema, tool_type="memory")


WEATHER_SOURCE = '''
def get_weather(city: str, days: int = 1, units: "str" = "metric") -> str:
    """Look up the weather forecast.

    Args:
        city (str): The city to look up,
            by its English name.
        days: How many days ahead.
    """
    return "sunny"
'''


@pytest.fixture
def agent() -> AgentRecord:
    return AgentRecord(
        name="maya-1",
        description="Support agent",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        persona_name="Maya",
        persona_label="production",
        persona_vars={"user_name": "Bo"},
        tags=["support", "eu"],
        metadata={"team": "care"},
        llm_config={"temperature": 0.3, "context_window": 64_000},
    )


@pytest.fixture
def blocks() -> list[BlockRecord]:
    return [
        BlockRecord(label="human", value="Name: Bo. Prefers tea.", limit=2000, description="About the user"),
        BlockRecord(
            label="policies", value="Refunds under $50.", read_only=True, metadata={"source": "wiki"}
        ),
    ]


@pytest.fixture
def tools() -> list[ToolRecord]:
    custom = convert.tool_record(w.CreateTool(source_code=WEATHER_SOURCE, tags=["weather"]))
    return [
        builtin_tool("memory_insert"),
        builtin_tool("memory_replace"),
        builtin_tool("conversation_search"),
        custom,
    ]


@pytest.fixture
def turn() -> list[MessageRecord]:
    """A stored turn: the user's message, an assistant step that reasons, speaks and calls two tools,
    their results (one failed), and the final reply."""
    step = "step-5f9f2d7e-0000-4000-8000-000000000001"
    return [
        MessageRecord(role="user", content="I'm Bo. Where is order 42?", otid="client-otid-1", seq=1),
        MessageRecord(
            role="assistant",
            content="Let me check.",
            reasoning="The user gave a name; remember it, then look up the order.",
            tool_calls=[
                {"id": "call_1", "name": "memory_insert", "arguments": '{"label": "human", "new_str": "Bo"}'},
                {"id": "call_2", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
            ],
            step_id=step,
            seq=2,
        ),
        MessageRecord(
            role="tool",
            content=json.dumps({"status": "OK", "message": "Memory block `human` edited."}),
            tool_call_id="call_1",
            tool_name="memory_insert",
            tool_status="success",
            step_id=step,
            seq=3,
        ),
        MessageRecord(
            role="tool",
            content=json.dumps({"status": "Failed", "message": "Tool `get_weather` cannot run."}),
            tool_call_id="call_2",
            tool_name="get_weather",
            tool_status="error",
            step_id=step,
            seq=4,
        ),
        MessageRecord(role="assistant", content="Order 42 ships tomorrow, Bo.", seq=5),
    ]


@pytest.fixture
def summary() -> MessageRecord:
    return MessageRecord(role="summary", content="Bo asked about order 42; it ships tomorrow.", seq=6)


@pytest.fixture
def passages() -> list[PassageRecord]:
    return [
        PassageRecord(text="Bo's order 42 was delayed once.", tags=["orders"], metadata={"k": 1}),
        PassageRecord(text="Bo likes tea.", embedding=[0.1, 0.2, 0.3]),
    ]


@pytest.fixture
def persona_records() -> list[PersonaVersionRecord]:
    return [
        PersonaVersionRecord(
            name="Maya", number=1, fingerprint="a" * 64, content={"name": "Maya", "tone": "warm"}
        ),
        PersonaVersionRecord(
            name="Maya", number=2, fingerprint="b" * 64, content={"name": "Maya", "tone": "brisk"}
        ),
    ]


# --- responses: agents, blocks, tools, passages, health ---------------------------------------------


def test_agent_state_validates_strictly(
    agent: AgentRecord, blocks: list[BlockRecord], tools: list[ToolRecord], turn: list[MessageRecord]
) -> None:
    state = convert.agent_state(
        agent, blocks, tools, system="You are Maya.", message_ids=[m.id for m in turn]
    )
    sdk = strict(lt.AgentState, state)
    assert isinstance(sdk, lt.AgentState)
    assert (sdk.id, sdk.name, sdk.agent_type, sdk.system) == (
        agent.id,
        "maya-1",
        "letta_v1_agent",
        "You are Maya.",
    )
    assert [b.label for b in sdk.blocks] == ["human", "policies"] == [b.label for b in sdk.memory.blocks]
    assert sdk.blocks[1].read_only is True
    assert [t.name for t in sdk.tools] == [
        "memory_insert",
        "memory_replace",
        "conversation_search",
        "get_weather",
    ]
    assert [t.tool_type for t in sdk.tools] == [
        "letta_memory_core",
        "letta_memory_core",
        "letta_core",
        "custom",
    ]
    assert sdk.llm_config.api_model_endpoint_type == "openai"
    assert (sdk.llm_config.model, sdk.llm_config.handle, sdk.llm_config.context_window) == (
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        64_000,
    )
    assert sdk.llm_config.temperature == 0.3
    assert sdk.embedding_config is not None
    assert sdk.embedding_config.embedding_dim == 1536
    assert (sdk.model, sdk.embedding, sdk.tags, sdk.metadata) == (
        "openai/gpt-4o-mini",
        "openai/text-embedding-3-small",
        ["support", "eu"],
        {"team": "care"},
    )
    assert sdk.message_ids == [m.id for m in turn]
    assert sdk.sources == []
    assert sdk.created_at is not None
    # our persona binding rides along as extra keys, which the SDK keeps (as attributes too)
    assert sdk.model_extra == {
        "persona": "Maya",
        "persona_label": "production",
        "persona_version": None,
        "persona_vars": {"user_name": "Bo"},
    }


def test_agent_state_for_an_unnamed_provider_and_no_embedding() -> None:
    agent = AgentRecord(name="bare", model="scripted/model", system="Be brief.")
    sdk = strict(lt.AgentState, convert.agent_state(agent, [], []))
    assert sdk.llm_config.api_model_endpoint_type == "openai"  # Letta has no word for our scripted provider
    assert sdk.llm_config.model == "model"
    assert sdk.system == "Be brief."
    assert sdk.embedding_config is None
    assert sdk.blocks == []
    assert sdk.tools == []


def test_block_validates_as_block_response_and_agent_block(blocks: list[BlockRecord]) -> None:
    for record in blocks:
        body = convert.block(record)
        for sdk_type in (lt.BlockResponse, lta.Block):
            sdk = strict(sdk_type, body)
            assert (sdk.id, sdk.label, sdk.value, sdk.limit) == (
                record.id,
                record.label,
                record.value,
                record.limit,
            )
            assert (sdk.read_only, sdk.metadata, sdk.description) == (
                record.read_only,
                record.metadata,
                record.description,
            )


def test_tool_validates_and_a_schema_is_read_from_source(tools: list[ToolRecord]) -> None:
    for record in tools:
        sdk = strict(lt.Tool, convert.tool(record))
        assert sdk.id == record.id
        assert sdk.json_schema == record.json_schema
    weather = strict(lt.Tool, convert.tool(tools[-1]))
    assert weather.source_type == "python"
    assert weather.tags == ["weather"]
    assert weather.json_schema == {
        "name": "get_weather",
        "description": "Look up the weather forecast.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city to look up, by its English name."},
                "days": {"type": "integer", "description": "How many days ahead."},
                "units": {"type": "string"},
            },
            "required": ["city"],
        },
    }
    assert "metadata_" in wire(convert.tool(tools[0]))  # Letta's spelling on the wire


def test_passages_validate_as_create_list_and_search(
    agent: AgentRecord, passages: list[PassageRecord]
) -> None:
    bodies = [convert.passage(p, embedding=agent.embedding) for p in passages]
    for sdk_type in (lta.PassageCreateResponse, lta.PassageListResponse):
        sdk = strict(sdk_type, bodies)
        assert [p.text for p in sdk] == [p.text for p in passages]
        assert sdk[1].embedding == [0.1, 0.2, 0.3]
        assert sdk[0].tags == ["orders"]
        assert sdk[0].embedding_config.embedding_model == "text-embedding-3-small"
    found = strict(lta.PassageSearchResponse, convert.passage_search(passages))
    assert found.count == 2
    assert [r.content for r in found.results] == [p.text for p in passages]
    assert found.results[0].timestamp.endswith("+00:00")


def test_health_validates() -> None:
    sdk = strict(lt.HealthResponse, convert.health())
    assert sdk.status == "ok"
    assert sdk.version


# --- responses: messages ---------------------------------------------------------------------------


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


# --- responses: streaming --------------------------------------------------------------------------


def turn_events(turn: list[MessageRecord]) -> list[ev.TurnEvent]:
    assistant = turn[1]
    return [
        MessageCommitted(turn[0]),
        TextDelta(assistant.id, "Let me "),
        TextDelta(assistant.id, "check."),
        ToolCallDelta(assistant.id, "call_1", "memory_insert", '{"label": '),
        ToolCallDelta(assistant.id, None, None, '"human", "new_str": "Bo"}'),
        *(MessageCommitted(m) for m in turn[1:]),
        TurnEnded("end_turn", Usage(100, 20), 2),
    ]


@pytest.mark.parametrize("stream_tokens", [False, True])
def test_every_stream_chunk_validates(
    turn: list[MessageRecord], summary: MessageRecord, stream_tokens: bool
) -> None:
    events = [*turn_events(turn), MessageCommitted(summary)]
    chunks = [c for e in events for c in convert.stream_chunks(e, stream_tokens=stream_tokens)]
    sdk = [strict(lta.LettaStreamingResponse, c) for c in chunks]
    assert [type(s).__name__ for s in sdk] == [type(c).__name__ for c in chunks]
    kinds = [c.message_type for c in chunks]
    assert "user_message" in kinds  # the summary (streams have no summary_message)
    assert kinds[kinds.index("stop_reason") + 1] == "usage_statistics"
    assert all(c.message_type != "user_message" or c.id != turn[0].id for c in chunks)  # input not echoed
    if stream_tokens:  # the committed assistant message only adds its reasoning
        assert kinds[:5] == ["assistant_message"] * 2 + ["tool_call_message"] * 2 + ["reasoning_message"]
        assert sdk[2].tool_call.name == "memory_insert"
        assert sdk[3].tool_call.name is None
        assert sdk[0].otid == sdk[1].otid != sdk[2].otid == sdk[3].otid
    else:
        assert kinds.count("assistant_message") == 4
        assert kinds.count("tool_call_message") == 3


def test_sse_events_end_a_failed_turn_with_an_error_event() -> None:
    failed = TurnEnded("llm_api_error", Usage(), 1, error="The provider returned 503.")
    stop, error = convert.sse_events(failed, run_id="run-1")
    assert stop.startswith("data: ")
    assert json.loads(stop[6:])["stop_reason"] == "llm_api_error"
    assert error.startswith("event: error\ndata: ")
    payload = json.loads(error.split("data: ", 1)[1])
    assert (
        strict(lta.LettaStreamingResponse, w.LettaErrorMessage(**payload)).message
        == "The provider returned 503."
    )


def test_pings_validate() -> None:
    from datetime import UTC, datetime

    sdk = strict(lta.LettaStreamingResponse, w.LettaPing(id="ping-1", date=datetime.now(UTC)))
    assert sdk.message_type == "ping"


# --- responses: ours (no SDK type) -----------------------------------------------------------------


def test_context_window_adds_up(
    agent: AgentRecord,
    blocks: list[BlockRecord],
    tools: list[ToolRecord],
    turn: list[MessageRecord],
    summary: MessageRecord,
) -> None:
    from llm_persona.agents.system_prompt import compile_system_prompt

    prompt = compile_system_prompt(
        identity="You are Maya.", blocks=blocks, now=agent.created_at, recall_count=5, archival_count=2
    ).text
    view = convert.context_window(
        agent, blocks, tools, [summary, *turn], archival_count=2, recall_count=6, system_prompt=prompt
    )
    parts = (
        view.num_tokens_system
        + view.num_tokens_core_memory
        + view.num_tokens_external_memory_summary
        + view.num_tokens_summary_memory
        + view.num_tokens_functions_definitions
        + view.num_tokens_messages
    )
    assert view.context_window_size_current == parts
    assert view.context_window_size_max == 64_000
    assert view.num_tokens_core_memory > 0
    assert view.external_memory_summary.startswith("<memory_metadata>")
    assert view.summary_memory == summary.content
    assert view.num_messages == 6
    assert len(view.functions_definitions or []) == 4
    assert len(view.messages) == 7
    json.dumps(wire(view))


def test_persona_bodies(persona_records: list[PersonaVersionRecord]) -> None:
    labels = {"production": 1, "staging": 2}
    version = convert.persona_version(persona_records[0], labels)
    assert (version.version, version.labels, version.content["tone"]) == (1, ["production"], "warm")
    summary = convert.persona_summary("Maya", persona_records, labels)
    assert (summary.latest_version, summary.version_count, summary.labels) == (2, 2, labels)
    registry = PersonaRegistry()
    registry.define(Persona(name="Maya", role="Support", tone="warm"))
    registry.define(Persona(name="Maya", role="Support", tone="brisk"))
    diff = convert.persona_diff(
        diff_versions(registry.lookup("Maya", version=1), registry.lookup("Maya", version=2))
    )
    assert [(c.field, c.before, c.after) for c in diff.changes] == [("tone", "warm", "brisk")]
    assert "-" in diff.prompt_diff
    assert wire(diff)["old"] == 1
    drift = convert.drift_entry(DriftEntry("agent-1", "maya-1", "Maya", 1, 2, "label production"))
    assert wire(drift)["follows"] == "label production"
    with pytest.raises(ValidationError, match="not both"):
        w.RenderPersona(version=1, label="production")
    assert w.RenderPersona.model_validate({"variables": {"user_name": "Bo"}}).variables == {"user_name": "Bo"}


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
    assert {t.name for t in sdk.tools} == {"memory_insert", "memory_replace", "conversation_search"}
    history = store.list_messages(runtime.tenant, agent.id)
    listed = validate_type(type_=list[lta.Message], value=wire(convert.letta_messages_from_list(history)))
    assert [m.message_type for m in listed][:4] == [
        "user_message",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]


# --- the SDK against a fake server -----------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Answers the SDK with our converted bodies and keeps every request body it was sent."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.bodies: list[dict[str, Any]] = []
        self.queries: list[httpx.QueryParams] = []

    def on(self, method: str, path: str, answer: Callable[[httpx.Request], Any]) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            result = answer(request)
            if isinstance(result, httpx.Response):
                return result
            return httpx.Response(200, json=wire(result) if not isinstance(result, dict) else result)

        self.routes.append((method, re.compile(path + "$"), handler))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content) if request.content else {})
        self.queries.append(request.url.params)
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.match(request.url.path):
                return handler(request)
        return httpx.Response(404, json={"detail": f"no route {request.method} {request.url.path}"})

    def client(self) -> Letta:
        return Letta(
            base_url="http://wire.test",
            api_key="test",
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
            _strict_response_validation=True,
            max_retries=0,
        )


def sse(events: list[str]) -> httpx.Response:
    return httpx.Response(
        200, content="".join(events).encode(), headers={"content-type": "text/event-stream"}
    )


def test_sdk_agents_round_trip(
    agent: AgentRecord, blocks: list[BlockRecord], tools: list[ToolRecord]
) -> None:
    server = FakeServer()
    state = convert.agent_state(agent, blocks, tools, system="You are Maya.")
    server.on("POST", "/v1/agents/", lambda r: state)
    server.on("GET", f"/v1/agents/{agent.id}", lambda r: state)
    server.on("PATCH", f"/v1/agents/{agent.id}", lambda r: state)
    server.on("GET", "/v1/agents/", lambda r: [] if r.url.params.get("after") else [state, state])
    client = server.client()

    created = client.agents.create(
        name="maya-1",
        model="openai/gpt-4o-mini",
        memory_blocks=[{"label": "human", "value": "Name: Bo.", "limit": 2000, "description": "the user"}],
        block_ids=[blocks[1].id],
        tools=["memory_insert"],
        tool_ids=[tools[-1].id],
        tags=["support"],
        metadata={"team": "care"},
        include_base_tools=True,
        context_window_limit=64_000,
        agent_type="letta_v1_agent",
        timezone="Europe/Oslo",
        extra_body={"persona": "Maya", "persona_label": "production", "persona_vars": {"user_name": "Bo"}},
    )
    assert created.id == agent.id
    assert (created.model_extra or {})["persona"] == "Maya"
    body = w.CreateAgent.model_validate(server.bodies[-1])
    kwargs = body.runtime_kwargs()
    assert kwargs["memory_blocks"] == [
        {"label": "human", "value": "Name: Bo.", "limit": 2000, "description": "the user", "read_only": False}
    ]
    assert (kwargs["model"], kwargs["persona"], kwargs["persona_label"], kwargs["llm_config"]) == (
        "openai/gpt-4o-mini",
        "Maya",
        "production",
        {"context_window": 64_000},
    )
    assert (kwargs["tools"], kwargs["tool_ids"], kwargs["block_ids"]) == (
        ["memory_insert"],
        [tools[-1].id],
        [blocks[1].id],
    )

    assert client.agents.retrieve(agent.id).name == "maya-1"
    client.agents.update(
        agent.id, name="maya-2", model_settings={"provider_type": "openai", "temperature": 0.1}
    )
    changes = w.UpdateAgent.model_validate(server.bodies[-1]).changes({"context_window": 64_000})
    assert changes == {"name": "maya-2", "llm_config": {"context_window": 64_000, "temperature": 0.1}}
    client.agents.update(agent.id, extra_body={"persona_version": 3})
    assert w.UpdateAgent.model_validate(server.bodies[-1]).changes() == {
        "persona_version": 3,
        "persona_label": None,
    }

    listed = list(client.agents.list(limit=2))  # auto-paging: after=<last id> returns [] and it stops
    assert [a.id for a in listed] == [agent.id, agent.id]
    assert server.queries[-1]["after"] == agent.id


def test_sdk_blocks_round_trip(agent: AgentRecord, blocks: list[BlockRecord]) -> None:
    server = FakeServer()
    human = convert.block(blocks[0])
    server.on(
        "GET",
        f"/v1/agents/{agent.id}/core-memory/blocks",
        lambda r: [] if r.url.params.get("after") else [human],
    )
    server.on("GET", f"/v1/agents/{agent.id}/core-memory/blocks/human", lambda r: human)
    server.on("PATCH", f"/v1/agents/{agent.id}/core-memory/blocks/human", lambda r: human)
    server.on("POST", "/v1/blocks/", lambda r: human)
    server.on("PATCH", f"/v1/blocks/{blocks[0].id}", lambda r: human)
    client = server.client()

    assert [b.label for b in client.agents.blocks.list(agent.id)] == ["human"]
    assert client.agents.blocks.retrieve("human", agent_id=agent.id).value == blocks[0].value
    client.agents.blocks.update("human", agent_id=agent.id, value="Name: Bo. Likes tea.", limit=3000)
    assert w.UpdateBlock.model_validate(server.bodies[-1]).changes() == {
        "value": "Name: Bo. Likes tea.",
        "limit": 3000,
    }
    client.blocks.create(
        label="policies", value="Refunds under $50.", read_only=True, tags=["x"], is_template=False
    )
    assert w.CreateBlock.model_validate(server.bodies[-1]).fields() == {
        "label": "policies",
        "value": "Refunds under $50.",
        "limit": 20_000,
        "read_only": True,
    }
    client.blocks.update(blocks[0].id, description="About the user", hidden=False)
    assert w.UpdateBlock.model_validate(server.bodies[-1]).changes() == {"description": "About the user"}


def test_sdk_tools_round_trip(tools: list[ToolRecord]) -> None:
    server = FakeServer()
    weather = convert.tool(tools[-1])

    def create(request: httpx.Request) -> w.Tool:
        return convert.tool(convert.tool_record(w.CreateTool.model_validate(json.loads(request.content))))

    server.on("POST", "/v1/tools/", create)
    server.on("PUT", "/v1/tools/", lambda r: weather)
    server.on("PATCH", f"/v1/tools/{tools[-1].id}", lambda r: weather)
    server.on(
        "GET", "/v1/tools/", lambda r: [] if r.url.params.get("after") else [convert.tool(t) for t in tools]
    )
    client = server.client()

    made = client.tools.create(
        source_code=WEATHER_SOURCE, tags=["weather"], pip_requirements=[{"name": "requests"}]
    )
    assert made.name == "get_weather"
    assert made.json_schema["parameters"]["required"] == ["city"]
    client.tools.upsert(source_code=WEATHER_SOURCE, description="Forecast for a city.")
    upsert = w.CreateTool.model_validate(server.bodies[-1])
    assert upsert.tool_schema()["description"] == "Forecast for a city."
    client.tools.update(tools[-1].id, description="Weather, any city.", metadata={"owner": "bo"})
    assert "metadata_" in server.bodies[-1]  # the SDK's alias; accepted and ignored
    changes = w.UpdateTool.model_validate(server.bodies[-1]).changes(tools[-1].json_schema)
    assert changes["description"] == changes["json_schema"]["description"] == "Weather, any city."
    assert [t.name for t in client.tools.list()] == [t.name for t in tools]


def test_sdk_passages_round_trip(agent: AgentRecord, passages: list[PassageRecord]) -> None:
    server = FakeServer()
    bodies = [convert.passage(p, embedding=agent.embedding) for p in passages]
    server.on("POST", f"/v1/agents/{agent.id}/archival-memory", lambda r: bodies[:1])
    server.on("GET", f"/v1/agents/{agent.id}/archival-memory", lambda r: bodies)
    server.on(
        "GET", f"/v1/agents/{agent.id}/archival-memory/search", lambda r: convert.passage_search(passages)
    )
    client = server.client()

    made = client.agents.passages.create(agent.id, text="Bo's order 42 was delayed once.", tags=["orders"])
    assert made[0].id == passages[0].id
    body = w.CreatePassage.model_validate(server.bodies[-1])
    assert (body.text, body.tags) == ("Bo's order 42 was delayed once.", ["orders"])
    client.agents.passages.create(agent.id, text="dated", created_at="2025-01-02T03:04:05Z")
    assert w.CreatePassage.model_validate(server.bodies[-1]).created_at is not None
    assert len(client.agents.passages.list(agent.id)) == 2
    found = client.agents.passages.search(agent.id, query="order", tags=["orders", "bo"], top_k=3)
    assert found.count == 2
    assert server.queries[-1].get_list("tags") == ["orders", "bo"]  # arrays arrive repeated


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


def test_sdk_raises_the_error_event_of_a_failed_stream(agent: AgentRecord) -> None:
    server = FakeServer()
    failed = TurnEnded("llm_api_error", Usage(), 1, error="The provider returned 503.")
    server.on(
        "POST",
        f"/v1/agents/{agent.id}/messages",
        lambda r: sse([*convert.sse_events(failed, run_id="run-1"), w.SSE_DONE]),
    )
    stream = server.client().agents.messages.create(agent.id, input="hi", streaming=True)
    assert next(stream).message_type == "stop_reason"
    with pytest.raises(APIError, match="503"):
        next(stream)


def test_sdk_health() -> None:
    server = FakeServer()
    server.on("GET", "/v1/health/", lambda r: convert.health())
    assert server.client().health().status == "ok"


# --- requests: what the SDK may send, and what it may not ------------------------------------------


def keys(params: type) -> set[str]:
    return set(getattr(params, "__required_keys__", ())) | set(getattr(params, "__optional_keys__", ()))


def accepted(model: type[w.RequestModel]) -> set[str]:
    return set(model.model_fields) | set(model.ignored)


@pytest.mark.parametrize(
    ("params", "model", "not_in_body"),
    [
        (lt.AgentCreateParams, w.CreateAgent, set()),
        (lt.AgentUpdateParams, w.UpdateAgent, set()),
        (lt.CreateBlockParam, w.CreateBlock, set()),
        (lt.BlockCreateParams, w.CreateBlock, set()),
        (lt.BlockUpdateParams, w.UpdateBlock, set()),
        (lta.BlockUpdateParams, w.UpdateBlock, {"agent_id"}),  # a path parameter
        (lt.ToolCreateParams, w.CreateTool, set()),
        (lt.ToolUpsertParams, w.CreateTool, set()),
        (lt.ToolUpdateParams, w.UpdateTool, set()),
        (lta.PassageCreateParams, w.CreatePassage, set()),
        (message_create_params.MessageCreateParamsStreaming, w.LettaRequest, set()),
        (lt.MessageCreateParam, w.MessageCreate, set()),
        (lta.TextContentParam, w.TextPart, set()),
    ],
)
def test_every_key_the_sdk_sends_is_accepted(
    params: type, model: type[w.RequestModel], not_in_body: set[str]
) -> None:
    missing = keys(params) - not_in_body - accepted(model)
    assert not missing, f"{model.__name__} would reject SDK keys {sorted(missing)}"


def test_ignored_keys_are_dropped_whatever_their_value() -> None:
    body = w.CreateAgent.model_validate(
        {
            "tool_rules": [{"type": "weird"}],
            "secrets": {"A": "b"},
            "initial_message_sequence": [{"role": "user"}],
        }
    )
    assert body.model_dump(exclude_unset=True) == {}


def error_at(model: type[BaseModel], data: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    first = info.value.errors()[0]
    return tuple(first["loc"]), first["msg"]


@pytest.mark.parametrize(
    ("model", "data", "loc", "says"),
    [
        (w.CreateAgent, {"memory_block": []}, ("memory_block",), "Extra inputs are not permitted"),
        (
            w.CreateAgent,
            {"memory_blocks": [{"label": "human", "value": "x", "lmit": 5}]},
            ("memory_blocks", 0, "lmit"),
            "Extra",
        ),
        (
            w.CreateAgent,
            {"memory_blocks": [{"label": "human", "value": "x" * 9, "limit": 5}]},
            ("memory_blocks", 0, "limit"),
            "over the block's limit",
        ),
        (w.CreateAgent, {"memory_blocks": [{"value": "x"}]}, ("memory_blocks", 0, "label"), "required"),
        (w.CreateAgent, {"model": "gpt-4o-mini"}, ("model",), "'provider/model'"),
        (
            w.CreateAgent,
            {"persona": "Maya", "persona_version": 2, "persona_label": "production"},
            (),
            "not both",
        ),
        (w.CreateAgent, {"persona_version": 2}, (), "need persona"),
        (
            w.CreateAgent,
            {"persona": "Maya", "persona_version": 0},
            ("persona_version",),
            "greater than or equal to 1",
        ),
        (w.CreateAgent, {"tags": "support"}, ("tags",), "list"),
        (w.UpdateAgent, {"nme": "x"}, ("nme",), "Extra"),
        (w.LettaRequest, {}, (), "No message to send"),
        (
            w.LettaRequest,
            {"messages": [{"role": "assistant", "content": "hi"}]},
            ("messages", 0, "role"),
            "'user' or 'system'",
        ),
        (
            w.LettaRequest,
            {"messages": [{"role": "user", "content": "  "}]},
            ("messages", 0, "content"),
            "no text",
        ),
        (
            w.LettaRequest,
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {"url": "u"}}]}]},
            ("messages", 0, "content"),
            "text only",
        ),
        (
            w.LettaRequest,
            {"messages": [{"type": "approval", "approve": True}]},
            ("messages", 0, "type"),
            "'message'",
        ),
        (w.LettaRequest, {"input": "hi", "max_steps": 0}, ("max_steps",), "greater than or equal to 1"),
        (w.LettaRequest, {"input": "hi", "stream_token": True}, ("stream_token",), "Extra"),
        (w.CreateTool, {}, (), "source_code"),
        (w.CreateTool, {"source_code": "def f(:"}, ("source_code",), "syntax error at line 1, column 7"),
        (w.CreateTool, {"source_code": "x = 1"}, ("source_code",), "No function found"),
        (w.CreateTool, {"json_schema": {"name": "bad name"}}, ("json_schema",), "identifier"),
        (w.CreatePassage, {"text": ""}, ("text",), "at least 1 character"),
        (w.UpdateBlock, {"value": "x" * 9, "limit": 5}, ("limit",), "over the block's limit"),
    ],
)
def test_bad_bodies_name_the_field(
    model: type[BaseModel], data: Any, loc: tuple[Any, ...], says: str
) -> None:
    where, message = error_at(model, data)
    assert where == loc
    assert says in message


def test_a_fastapi_route_answers_422_naming_the_key() -> None:
    app = FastAPI()

    @app.post("/v1/agents/")
    def create(body: w.CreateAgent) -> dict[str, Any]:
        return body.runtime_kwargs()

    client = TestClient(app)
    bad = client.post("/v1/agents/", json={"name": "maya", "memory_block": []})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "memory_block"]
    good = client.post("/v1/agents/", json={"name": "maya", "project_id": "p-1", "tools": ["memory_insert"]})
    assert good.status_code == 200
    assert good.json()["tools"] == ["memory_insert"]
