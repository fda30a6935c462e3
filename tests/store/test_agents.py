"""Agents: create, get, list with filters, count, update, delete, tenants."""

from __future__ import annotations

from typing import Any

import pytest

from llm_persona.errors import AgentNotFoundError, BlockNotFoundError, ConflictError, ToolNotFoundError
from llm_persona.store import AgentRecord, BlockRecord, PassageRecord, Store, ToolRecord

from .helpers import OTHER, TENANT, new_agent, say


def test_create_then_get_returns_every_field(store: Store) -> None:
    tool = store.create_tool(TENANT, ToolRecord(name="lookup"))
    block = store.create_block(TENANT, BlockRecord(label="human", value="Sam"))
    record = AgentRecord(
        name="maya",
        description="support",
        system="You are Maya.",
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        persona_name="Maya",
        persona_version=3,
        persona_label="production",
        persona_vars={"user_name": "Sam"},
        tags=["support", "eu", "support"],
        metadata={"team": "a", "nested": {"x": [1, 2]}},
        llm_config={"context_window": 128000, "temperature": 0.2},
        block_ids=[block.id],
        tool_ids=[tool.id],
    )
    created = store.create_agent(TENANT, record, new_blocks=[BlockRecord(label="persona", value="Maya")])
    got = store.get_agent(TENANT, record.id)
    assert got == created
    assert got.id == record.id
    assert got.id.startswith("agent-")
    assert got.tags == ["support", "eu"]  # repeats dropped, order kept
    assert got.persona_vars == {"user_name": "Sam"}
    assert got.metadata == {"team": "a", "nested": {"x": [1, 2]}}
    assert got.llm_config["context_window"] == 128000
    assert got.last_seq == 0
    assert got.context_start_seq == 1
    assert got.tool_ids == [tool.id]
    assert got.block_ids[0] == block.id
    assert len(got.block_ids) == 2
    assert got.created_at.tzinfo is not None
    assert got.created_at == record.created_at
    assert [b.label for b in store.agent_blocks(TENANT, got.id)] == ["human", "persona"]


def test_create_with_unknown_block_or_tool_writes_nothing(store: Store) -> None:
    with pytest.raises(BlockNotFoundError, match="block-nope"):
        store.create_agent(
            TENANT,
            AgentRecord(name="a", model="m", block_ids=["block-nope"]),
            new_blocks=[BlockRecord(label="persona")],
        )
    with pytest.raises(ToolNotFoundError, match="tool-nope"):
        store.create_agent(TENANT, AgentRecord(name="a", model="m", tool_ids=["tool-nope"]))
    assert store.count_agents(TENANT) == 0
    assert store.count_blocks(TENANT) == 0


def test_create_with_two_blocks_of_one_label_is_a_conflict(store: Store) -> None:
    a = store.create_block(TENANT, BlockRecord(label="human"))
    with pytest.raises(ConflictError, match="both labelled 'human'"):
        store.create_agent(
            TENANT,
            AgentRecord(name="a", model="m", block_ids=[a.id]),
            new_blocks=[BlockRecord(label="human")],
        )
    assert store.count_agents(TENANT) == 0
    assert store.count_blocks(TENANT) == 1


def test_unknown_agent_raises_a_helpful_not_found(store: Store) -> None:
    with pytest.raises(AgentNotFoundError) as info:
        store.get_agent(TENANT, "agent-123")
    assert str(info.value) == (
        "No agent 'agent-123' (tenant 'default'). List agents with GET /v1/agents or client.agents.list()."
    )
    assert isinstance(info.value, LookupError)
    for call in (
        lambda: store.update_agent(TENANT, "agent-123", name="x"),
        lambda: store.delete_agent(TENANT, "agent-123"),
        lambda: store.load_agent_state(TENANT, "agent-123"),
        lambda: store.list_messages(TENANT, "agent-123"),
        lambda: store.list_steps(TENANT, "agent-123"),
        lambda: store.list_passages(TENANT, "agent-123"),
        lambda: store.agent_blocks(TENANT, "agent-123"),
        lambda: store.agent_tools(TENANT, "agent-123"),
    ):
        with pytest.raises(AgentNotFoundError):
            call()


def test_list_filters_by_name_query_text_persona_and_tags(store: Store) -> None:
    a = new_agent(store, name="Maya Support", tags=["support", "eu"], persona_name="Maya")
    b = new_agent(store, name="maya-sales", tags=["sales", "eu"])
    c = new_agent(store, name="Bob 100%_", tags=["support"])

    def ids(**filters: Any) -> list[str]:
        return [x.id for x in store.list_agents(TENANT, **filters)]

    assert ids() == [a.id, b.id, c.id]
    assert ids(name="maya-sales") == [b.id]
    assert ids(query_text="MAYA") == [a.id, b.id]
    assert ids(query_text="%_") == [c.id]  # LIKE wildcards are literal
    assert ids(query_text="_") == [c.id]
    assert ids(persona_name="Maya") == [a.id]
    assert ids(tags=["eu"]) == [a.id, b.id]
    assert ids(tags=["support", "sales"]) == [a.id, b.id, c.id]
    assert ids(tags=["support", "eu"], match_all_tags=True) == [a.id]
    assert ids(tags=["support", "support"], match_all_tags=True) == [a.id, c.id]
    assert ids(tags=["nope"]) == []
    assert ids(tags=["eu"], query_text="sales") == [b.id]
    assert store.count_agents(TENANT) == 3
    assert store.count_agents(TENANT, tags=["eu"]) == 2
    assert store.count_agents(TENANT, query_text="maya", tags=["support"]) == 1


def test_update_changes_only_the_given_fields(store: Store) -> None:
    agent = new_agent(store, description="old", tags=["x"], metadata={"k": 1})
    updated = store.update_agent(
        TENANT, agent.id, name="renamed", description=None, tags=["y", "z"], llm_config={"temperature": 1}
    )
    assert updated.name == "renamed"
    assert updated.description is None
    assert updated.tags == ["y", "z"]
    assert updated.metadata == {"k": 1}
    assert updated.model == agent.model
    assert updated.updated_at >= agent.updated_at
    assert store.get_agent(TENANT, agent.id) == updated
    assert [a.id for a in store.list_agents(TENANT, tags=["x"])] == []
    assert [a.id for a in store.list_agents(TENANT, tags=["z"])] == [agent.id]


def test_update_replaces_blocks_and_tools_in_the_given_order(store: Store) -> None:
    b1, b2, b3 = (store.create_block(TENANT, BlockRecord(label=label)) for label in ("a", "b", "c"))
    t1, t2 = (store.create_tool(TENANT, ToolRecord(name=name)) for name in ("t1", "t2"))
    agent = new_agent(store, block_ids=[b1.id, b2.id], tool_ids=[t1.id])
    updated = store.update_agent(TENANT, agent.id, block_ids=[b3.id, b1.id], tool_ids=[t2.id, t1.id])
    assert updated.block_ids == [b3.id, b1.id]
    assert updated.tool_ids == [t2.id, t1.id]
    assert [b.label for b in store.agent_blocks(TENANT, agent.id)] == ["c", "a"]
    with pytest.raises(BlockNotFoundError):
        store.update_agent(TENANT, agent.id, name="changed", block_ids=["block-nope"])
    assert store.get_agent(TENANT, agent.id) == updated  # the failed update wrote nothing


def test_compiled_system_goes_stale_when_memory_or_prompt_fields_change(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="Sam"))
    other = store.create_block(TENANT, BlockRecord(label="notes"))
    agent = new_agent(store, block_ids=[block.id])
    assert store.update_agent(TENANT, agent.id, compiled_system="SYS").compiled_system == "SYS"
    assert store.update_agent(TENANT, agent.id, name="n", model="m2").compiled_system == "SYS"
    store.update_block(TENANT, block.id, value="Sam, likes tea")
    assert store.get_agent(TENANT, agent.id).compiled_system is None

    store.update_agent(TENANT, agent.id, compiled_system="SYS2")
    store.attach_block(TENANT, agent.id, other.id)
    assert store.get_agent(TENANT, agent.id).compiled_system is None

    store.update_agent(TENANT, agent.id, compiled_system="SYS3")
    assert store.update_agent(TENANT, agent.id, persona_version=2).compiled_system is None
    store.update_agent(TENANT, agent.id, compiled_system="SYS4")
    assert store.update_agent(TENANT, agent.id, compiled_system=None).compiled_system is None


def test_delete_removes_history_and_detaches_but_keeps_blocks_and_tools(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org"))
    tool = store.create_tool(TENANT, ToolRecord(name="t"))
    agent = new_agent(store, block_ids=[shared.id], tool_ids=[tool.id])
    keeper = new_agent(store, block_ids=[shared.id])
    say(store, agent.id, "hello", "again")
    store.insert_passages(TENANT, agent.id, [PassageRecord(text="fact")])
    store.delete_agent(TENANT, agent.id)
    with pytest.raises(AgentNotFoundError):
        store.get_agent(TENANT, agent.id)
    assert store.get_block(TENANT, shared.id).id == shared.id
    assert store.get_tool(TENANT, tool.id).id == tool.id
    assert [a.id for a in store.block_agents(TENANT, shared.id)] == [keeper.id]
    with store.engine.connect() as conn:
        for table in ("messages", "steps", "passages", "agent_tags", "agents_tools"):
            count = conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE agent_id = '{agent.id}'")
            assert count.scalar_one() == 0, table


def test_other_tenants_cannot_see_or_touch_an_agent(store: Store) -> None:
    agent = new_agent(store, tags=["t"])
    say(store, agent.id, "secret")
    assert store.list_agents(OTHER) == []
    assert store.list_agents(OTHER, tags=["t"]) == []
    assert store.count_agents(OTHER) == 0
    for call in (
        lambda: store.get_agent(OTHER, agent.id),
        lambda: store.update_agent(OTHER, agent.id, name="x"),
        lambda: store.delete_agent(OTHER, agent.id),
        lambda: store.list_messages(OTHER, agent.id),
        lambda: store.search_messages(OTHER, agent.id, "secret"),
        lambda: store.list_agents(OTHER, after=agent.id),
    ):
        with pytest.raises(AgentNotFoundError):
            call()
    assert store.get_agent(TENANT, agent.id).name == "maya"


def test_same_names_in_two_tenants_are_two_agents(store: Store) -> None:
    a = new_agent(store, TENANT, name="maya")
    b = new_agent(store, OTHER, name="maya")
    assert [x.id for x in store.list_agents(TENANT, name="maya")] == [a.id]
    assert [x.id for x in store.list_agents(OTHER, name="maya")] == [b.id]
    assert b.tenant == OTHER
