"""Agents on the wire: `AgentState` (and its `llm_config`), the context window, and the SDK's agent
calls parsed by our request models."""

from __future__ import annotations

import json

from letta_client import types as lt

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import (
    AgentRecord,
    BlockRecord,
    MessageRecord,
    ToolRecord,
)
from tests.server.wire.helpers import FakeServer, strict, wire


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
    assert sdk.llm_config.model_extra == {"timeout": 60.0, "max_retries": 2}  # ours: the defaults in use
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
    llm_config = {"model": "gpt-4o-mini", "model_endpoint_type": "openai", "context_window": 64_000}
    client.agents.update(agent.id, llm_config={**llm_config, "timeout": 20, "max_retries": 5})  # type: ignore[arg-type]
    changes = w.UpdateAgent.model_validate(server.bodies[-1]).changes({"temperature": 0.1})
    assert changes["llm_config"] == {
        "temperature": 0.1,
        "context_window": 64_000,
        "timeout": 20.0,
        "max_retries": 5,
    }
    client.agents.update(agent.id, extra_body={"persona_version": 3})
    assert w.UpdateAgent.model_validate(server.bodies[-1]).changes() == {
        "persona_version": 3,
        "persona_label": None,
    }

    listed = list(client.agents.list(limit=2))  # auto-paging: after=<last id> returns [] and it stops
    assert [a.id for a in listed] == [agent.id, agent.id]
    assert server.queries[-1]["after"] == agent.id
