"""Realistic records for the wire tests: an agent, its blocks, tools, a stored turn, a summary,
archival passages and persona versions."""

from __future__ import annotations

import json

import pytest

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import (
    AgentRecord,
    BlockRecord,
    MessageRecord,
    PassageRecord,
    PersonaVersionRecord,
    ToolRecord,
)
from tests.server.wire.helpers import WEATHER_SOURCE, builtin_tool


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
