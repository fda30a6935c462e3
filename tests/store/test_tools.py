"""Tools: CRUD, unique names, upsert, attaching."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llm_persona.errors import AgentNotFoundError, ConflictError, ToolNotFoundError
from llm_persona.store import AgentRecord, Store, ToolRecord

from .helpers import OTHER, TENANT, new_agent

SCHEMA = {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}


def test_create_get_by_id_and_name_list_count(store: Store) -> None:
    tool = store.create_tool(
        TENANT,
        ToolRecord(
            name="lookup",
            description="Find",
            source_code="def lookup(q): ...",
            json_schema=SCHEMA,
            tags=["a", "a", "b"],
            tool_type="custom",
            return_char_limit=1000,
        ),
    )
    memory = store.create_tool(TENANT, ToolRecord(name="memory_insert", tool_type="memory"))
    assert tool.id.startswith("tool-")
    assert store.get_tool(TENANT, tool.id) == tool
    assert store.get_tool_by_name(TENANT, "lookup") == tool
    assert tool.json_schema == SCHEMA
    assert tool.tags == ["a", "b"]
    assert tool.return_char_limit == 1000
    assert [t.id for t in store.list_tools(TENANT)] == [tool.id, memory.id]
    assert [t.id for t in store.list_tools(TENANT, tool_type="memory")] == [memory.id]
    assert [t.id for t in store.list_tools(TENANT, name="lookup")] == [tool.id]
    assert store.count_tools(TENANT) == 2


def test_names_are_unique_per_tenant(store: Store) -> None:
    first = store.create_tool(TENANT, ToolRecord(name="lookup"))
    with pytest.raises(ConflictError, match="A tool named 'lookup' already exists"):
        store.create_tool(TENANT, ToolRecord(name="lookup"))
    other = store.create_tool(OTHER, ToolRecord(name="lookup"))
    assert other.id != first.id
    second = store.create_tool(TENANT, ToolRecord(name="search"))
    with pytest.raises(ConflictError, match="Cannot rename"):
        store.update_tool(TENANT, second.id, name="lookup", description="changed")
    assert store.get_tool(TENANT, second.id) == second
    assert store.count_tools(TENANT) == 2


def test_update_changes_only_given_fields(store: Store) -> None:
    tool = store.create_tool(TENANT, ToolRecord(name="lookup", description="d", json_schema=SCHEMA))
    updated = store.update_tool(TENANT, tool.id, description=None, tags=["x"], return_char_limit=10)
    assert (updated.description, updated.tags, updated.return_char_limit, updated.json_schema) == (
        None,
        ["x"],
        10,
        SCHEMA,
    )
    assert store.update_tool(TENANT, tool.id, name="lookup").name == "lookup"  # same name is fine


def test_upsert_creates_then_updates_in_place(store: Store) -> None:
    created = store.upsert_tool(
        TENANT, ToolRecord(name="memory_insert", description="v1", tool_type="memory")
    )
    again = store.upsert_tool(TENANT, ToolRecord(name="memory_insert", description="v2", tool_type="memory"))
    assert again.id == created.id
    assert again.description == "v2"
    assert again.created_at == created.created_at
    assert store.count_tools(TENANT) == 1


def test_attach_detach_and_delete(store: Store) -> None:
    a, b = (store.create_tool(TENANT, ToolRecord(name=n)) for n in ("a", "b"))
    agent = new_agent(store)
    assert store.attach_tool(TENANT, agent.id, b.id).tool_ids == [b.id]
    assert store.attach_tool(TENANT, agent.id, a.id).tool_ids == [b.id, a.id]
    assert store.attach_tool(TENANT, agent.id, a.id).tool_ids == [b.id, a.id]
    assert [t.name for t in store.agent_tools(TENANT, agent.id)] == ["b", "a"]
    assert store.detach_tool(TENANT, agent.id, b.id).tool_ids == [a.id]
    store.delete_tool(TENANT, a.id)
    assert store.get_agent(TENANT, agent.id).tool_ids == []
    with pytest.raises(AgentNotFoundError):
        store.attach_tool(TENANT, "agent-x", b.id)


def test_unknown_tool_raises_not_found(store: Store) -> None:
    agent = new_agent(store)
    with pytest.raises(ToolNotFoundError, match=r"No tool 'tool-x' \(tenant 'default'\)"):
        store.get_tool(TENANT, "tool-x")
    for call in (
        lambda: store.get_tool_by_name(TENANT, "nope"),
        lambda: store.update_tool(TENANT, "tool-x", description="d"),
        lambda: store.delete_tool(TENANT, "tool-x"),
        lambda: store.attach_tool(TENANT, agent.id, "tool-x"),
        lambda: store.detach_tool(TENANT, agent.id, "tool-x"),
        lambda: store.list_tools(TENANT, before="tool-x"),
    ):
        with pytest.raises(ToolNotFoundError):
            call()


def test_other_tenants_cannot_see_or_use_a_tool(store: Store) -> None:
    tool = store.create_tool(TENANT, ToolRecord(name="lookup"))
    theirs = new_agent(store, OTHER)
    assert store.list_tools(OTHER) == []
    for call in (
        lambda: store.get_tool(OTHER, tool.id),
        lambda: store.get_tool_by_name(OTHER, "lookup"),
        lambda: store.update_tool(OTHER, tool.id, description="x"),
        lambda: store.delete_tool(OTHER, tool.id),
        lambda: store.attach_tool(OTHER, theirs.id, tool.id),
    ):
        with pytest.raises(ToolNotFoundError):
            call()
    assert store.get_tool(TENANT, tool.id) == tool


def test_agents_created_at_once_share_the_upserted_tools(store: Store) -> None:
    """Agents made together on a fresh database all upsert the same built-in tools: none fails."""
    names = ["memory_insert", "memory_replace", "conversation_search"]
    start = threading.Barrier(8)

    def create(i: int) -> AgentRecord:
        start.wait(timeout=10)
        ids = [store.upsert_tool(TENANT, ToolRecord(name=n, tool_type="memory")).id for n in names]
        return store.create_agent(TENANT, AgentRecord(name=f"a{i}", model="m", tool_ids=ids))

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(create, range(8)))
    tool_ids = [t.id for t in store.list_tools(TENANT)]
    assert len(tool_ids) == len(names)
    assert all(sorted(agent.tool_ids) == sorted(tool_ids) for agent in made)


def test_upsert_leaves_an_unchanged_tool_alone(store: Store) -> None:
    created = store.upsert_tool(TENANT, ToolRecord(name="lookup", tags=["a", "a"], json_schema=SCHEMA))
    again = store.upsert_tool(TENANT, ToolRecord(name="lookup", tags=["a"], json_schema=SCHEMA))
    assert again == created  # not even updated_at moved
