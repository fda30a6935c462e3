"""Agents through the official SDK in strict mode, on both engines: life cycle, paging, filters,
count, context window, agent files, and bad input that must change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from letta_client import BadRequestError, Letta, NotFoundError, UnprocessableEntityError

from llm_persona import Persona, PersonaRegistry
from llm_persona.llm.scripted import tool_call
from llm_persona.store import ToolRecord
from tests.server.conftest import Running

HUMAN = "Name: Bob\nLikes: tea"
MAYA = {"persona": "Maya", "persona_vars": {"user_name": "Bo"}}
ECHO_SOURCE = '''
def echo(text: str) -> str:
    """Say it back.

    Args:
        text: What to say.
    """
    return text
'''


def make_agent(client: Letta, name: str = "maya-1", **kwargs: Any) -> Any:
    kwargs.setdefault("extra_body", MAYA)
    return client.agents.create(
        name=name,
        model="openai/gpt-4o-mini",
        memory_blocks=[{"label": "human", "value": HUMAN, "limit": 200}],
        **kwargs,
    )


def binding(agent: Any) -> tuple[Any, ...]:
    """The persona binding, which the SDK keeps as extra keys: persona, version, label, variables."""
    extra = agent.model_extra
    return tuple(extra[k] for k in ("persona", "persona_version", "persona_label", "persona_vars"))


def nothing_written(running: Running) -> None:
    store = running.store
    assert (store.count_agents("default"), store.count_blocks("default")) == (0, 0)


# --- life cycle -----------------------------------------------------------------------------------


def test_an_agent_lives_and_dies_through_the_sdk(client: Letta, running: Running) -> None:
    agent = make_agent(client, tags=["support"], embedding="openai/text-embedding-3-small")
    assert agent.id.startswith("agent-")
    assert (agent.name, agent.model, agent.embedding) == (
        "maya-1",
        "openai/gpt-4o-mini",
        "openai/text-embedding-3-small",
    )
    assert agent.embedding_config is not None
    assert agent.embedding_config.embedding_dim == 1536
    assert binding(agent) == ("Maya", None, None, {"user_name": "Bo"})
    assert "The customer is Bo." in agent.system
    assert [(b.label, b.value, b.limit) for b in agent.blocks] == [("human", HUMAN, 200)]
    assert [t.name for t in agent.tools] == [
        "memory_insert",
        "memory_replace",
        "conversation_search",
        "archival_memory_insert",
        "archival_memory_search",
    ]
    assert (agent.tags, agent.message_ids) == (["support"], [])

    again = client.agents.retrieve(agent.id)
    assert again.model_dump() == agent.model_dump()

    updated = client.agents.update(
        agent.id,
        name="maya-2",
        description="front desk",
        tags=["support", "vip"],
        extra_body={"persona_vars": {"user_name": "Ann"}, "persona_label": "production"},
    )
    assert (updated.name, updated.description, updated.tags) == ("maya-2", "front desk", ["support", "vip"])
    assert binding(updated) == ("Maya", None, "production", {"user_name": "Ann"})
    assert "The customer is Ann." in updated.system
    assert client.agents.retrieve(agent.id).name == "maya-2"
    assert client.get("/v1/agents/count", cast_to=int) == 1

    client.agents.delete(agent.id)
    with pytest.raises(NotFoundError, match=agent.id):
        client.agents.retrieve(agent.id)
    with pytest.raises(NotFoundError):
        client.agents.delete(agent.id)
    assert running.store.count_agents("default") == 0


def test_an_agent_without_a_persona_keeps_its_system_prompt(client: Letta) -> None:
    agent = client.agents.create(name="plain", system="You are terse.", include_base_tools=False)
    assert (agent.system, agent.tools, binding(agent)) == ("You are terse.", [], (None, None, None, {}))
    assert agent.model == "openai/gpt-4o-mini"


# --- lists ----------------------------------------------------------------------------------------


def test_the_sdk_pages_through_every_agent(client: Letta) -> None:
    ids = [make_agent(client, f"a{i}").id for i in range(7)]
    newest_first = client.agents.list(limit=3)
    assert [a.id for a in newest_first.items] == ids[:-4:-1]
    assert [a.id for a in newest_first] == ids[::-1]  # the auto-pager: after=<last id> until a page is empty
    assert [a.id for a in client.agents.list(limit=3, order="asc")] == ids
    previous = client.agents.list(limit=2, order="asc", before=ids[4])
    assert [a.id for a in previous.items] == ids[2:4]
    assert [a.id for a in client.agents.list(order="asc", after=ids[5])] == ids[6:]


def test_filters_and_count_agree(client: Letta) -> None:
    make_agent(client, "maya-a", tags=["a"])
    make_agent(client, "maya-ab", tags=["a", "b"])
    make_agent(client, "rex", tags=["b"])

    def names(**query: Any) -> list[str]:
        listed = sorted(a.name for a in client.agents.list(**query))
        assert client.get("/v1/agents/count", cast_to=int, options={"params": query}) == len(listed)
        return listed

    assert names() == ["maya-a", "maya-ab", "rex"]
    assert names(name="rex") == ["rex"]
    assert names(tags=["a", "b"]) == ["maya-a", "maya-ab", "rex"]
    assert names(tags=["a", "b"], match_all_tags=True) == ["maya-ab"]
    assert names(query_text="MAYA") == ["maya-a", "maya-ab"]
    assert names(query_text="nobody") == []


# --- context window -------------------------------------------------------------------------------


def test_the_context_breakdown_adds_up(client: Letta, running: Running) -> None:
    agent = make_agent(client)
    running.model.add("Hi Bo, how can I help?")
    client.agents.messages.create(agent.id, input="hello")
    context = client.get(f"/v1/agents/{agent.id}/context", cast_to=object)
    assert isinstance(context, dict)
    assert context["system_prompt"].startswith(agent.system)
    assert HUMAN in context["core_memory"]
    assert context["core_memory"] in context["system_prompt"]
    assert context["num_messages"] == 2
    assert context["num_recall_memory"] == 2
    assert [m["message_type"] for m in context["messages"]] == ["user_message", "assistant_message"]
    assert len(context["functions_definitions"]) == 5
    parts = (
        "system",
        "core_memory",
        "external_memory_summary",
        "summary_memory",
        "functions_definitions",
        "messages",
    )
    assert context["context_window_size_current"] == sum(context[f"num_tokens_{p}"] for p in parts)
    assert min(context[f"num_tokens_{p}"] for p in ("system", "core_memory", "messages")) > 0
    assert context["context_window_size_max"] > context["context_window_size_current"]


def test_a_new_agent_shows_the_prompt_its_first_turn_will_use(client: Letta) -> None:
    agent = make_agent(client)
    context = client.get(f"/v1/agents/{agent.id}/context", cast_to=object)
    assert isinstance(context, dict)
    assert context["system_prompt"].startswith(agent.system)
    assert HUMAN in context["system_prompt"]
    assert (context["num_messages"], context["messages"]) == (0, [])


# --- agent files ----------------------------------------------------------------------------------


def test_export_then_import_makes_a_twin_with_new_ids(client: Letta, running: Running) -> None:
    echo = running.store.create_tool(
        "default", ToolRecord(name="echo", source_code=ECHO_SOURCE, tool_type="custom")
    )
    agent = make_agent(client, tool_ids=[echo.id])
    running.model.add(
        "First answer.", [tool_call("memory_replace", label="human", old_str="Bob", new_str="Rob")], "Noted."
    )
    client.agents.messages.create(agent.id, input="one")
    client.agents.messages.reset(agent.id)
    client.agents.messages.create(agent.id, input="I am Rob")

    text = client.agents.export_file(agent.id)
    document = json.loads(text)
    assert document["format"] == "llm-persona/agent-file"
    assert len(document["agents"][0]["messages"]) == 6
    assert len(document["agents"][0]["in_context_message_ids"]) == 4

    imported = client.agents.import_file(file=("maya.af", text.encode(), "application/json"))
    (twin_id,) = imported.agent_ids
    twin = client.agents.retrieve(twin_id)
    assert twin_id != agent.id
    assert twin.name == "maya-1_copy"
    assert (binding(twin), twin.system) == (binding(agent), agent.system)
    assert [(b.label, b.value) for b in twin.blocks] == [("human", HUMAN.replace("Bob", "Rob"))]
    assert {b.id for b in twin.blocks}.isdisjoint(b.id for b in agent.blocks)
    assert sorted(t.name for t in twin.tools) == sorted(t.name for t in agent.tools)
    assert next(t for t in twin.tools if t.name == "echo").source_code == ECHO_SOURCE
    assert len(twin.message_ids) == 4
    assert set(twin.message_ids).isdisjoint(client.agents.retrieve(agent.id).message_ids)

    def history(agent_id: str) -> list[tuple[str, Any]]:
        out = []
        for m in client.agents.messages.list(agent_id, order="asc"):
            out.append((m.message_type, getattr(m, "content", None) or getattr(m, "tool_return", None)))
        return out

    assert history(twin_id) == history(agent.id)

    renamed = client.agents.import_file(file=("maya.af", text.encode()), name="maya-3", strip_messages=True)
    bare = client.agents.retrieve(renamed.agent_ids[0])
    assert (bare.name, bare.message_ids) == ("maya-3", [])
    assert running.store.count_messages("default", bare.id) == 0

    as_json = client.post("/v1/agents/import", body=document, cast_to=object)  # a script may post the JSON
    assert isinstance(as_json, dict)
    assert client.agents.retrieve(as_json["agent_ids"][0]).name == "maya-1_copy"


def test_a_bad_agent_file_is_a_400_and_imports_nothing(client: Letta, running: Running) -> None:
    def document(agent: dict[str, Any] | None = None, tool: dict[str, Any] | None = None) -> bytes:
        return json.dumps(
            {
                "format": "llm-persona/agent-file",
                "version": 1,
                "agents": [
                    {
                        "id": "a",
                        "name": "x",
                        "model": "openai/gpt-4o-mini",
                        "tool_ids": ["t"],
                        **(agent or {}),
                    }
                ],
                "tools": [{"id": "t", "name": "echo", "source_code": ECHO_SOURCE, **(tool or {})}],
            }
        ).encode()

    for data, expected in (
        (b"{not json", "not JSON"),
        (b'{"agents": []}', "not an llm-persona agent file"),
        (document({"model": None}), r"agents\.0\.model"),
        (document({"model": "gpt-4o"}), "not a 'provider/model' handle"),
        (document({"block_ids": ["b"]}), r"block_ids names \['b'\]"),
        (document({"persona": "Maya", "persona_version": 1, "persona_label": "production"}), "not both"),
        (document(tool={"source_code": "x = 1"}), r"tools\.0"),
        (document(tool={"name": "memory_insert"}), "built-in tool's name"),
    ):
        with pytest.raises(BadRequestError, match=expected):
            client.agents.import_file(file=("x.af", data))
    with pytest.raises(NotFoundError, match="Nobody"):
        client.agents.import_file(file=("x.af", document({"persona": "Nobody"})))
    with pytest.raises(UnprocessableEntityError, match="model"):
        client.agents.import_file(file=("x.af", document()), model="gpt-4o")
    with pytest.raises(UnprocessableEntityError, match="strip_messages"):
        client.agents.import_file(file=("x.af", document()), extra_body={"strip_messages": "maybe"})
    nothing_written(running)
    assert running.store.count_tools("default") == 0


# --- bad input ------------------------------------------------------------------------------------


def test_unknown_agents_are_404s(client: Letta) -> None:
    missing = "agent-00000000-0000-0000-0000-000000000000"
    for call in (
        lambda: client.agents.retrieve(missing),
        lambda: client.agents.update(missing, name="x"),
        lambda: client.agents.delete(missing),
        lambda: client.agents.export_file(missing),
        lambda: client.get(f"/v1/agents/{missing}/context", cast_to=object),
        lambda: client.agents.list(after=missing),
    ):
        with pytest.raises(NotFoundError, match="agent-0000"):
            call()


def test_create_refuses_bad_input_and_writes_nothing(client: Letta, running: Running) -> None:
    running.runtime.sync_personas(_rex())
    with pytest.raises(NotFoundError, match="Nobody"):
        make_agent(client, extra_body={"persona": "Nobody"})
    with pytest.raises(UnprocessableEntityError, match=r"Missing variables \{topic, user_name\}"):
        make_agent(client, extra_body={"persona": "Rex"})
    with pytest.raises(UnprocessableEntityError, match="model"):
        client.agents.create(name="x", model="gpt-4o")
    with pytest.raises(UnprocessableEntityError, match="colour"):
        client.agents.create(name="x", extra_body={"colour": "red"})
    with pytest.raises(
        UnprocessableEntityError, match=r"memory_blocks\.0\.limit.*over the block's limit of 10"
    ):
        client.agents.create(name="x", memory_blocks=[{"label": "human", "value": "x" * 11, "limit": 10}])
    with pytest.raises(NotFoundError, match="block-nope"):
        make_agent(client, block_ids=["block-nope"])
    nothing_written(running)


def test_update_refuses_bad_input_and_changes_nothing(client: Letta, running: Running) -> None:
    running.runtime.sync_personas(_rex())
    agent = make_agent(client)
    before = client.agents.retrieve(agent.id).model_dump()
    with pytest.raises(NotFoundError, match="Nobody"):
        client.agents.update(agent.id, extra_body={"persona": "Nobody"})
    with pytest.raises(UnprocessableEntityError, match="topic"):
        client.agents.update(
            agent.id, name="renamed", extra_body={"persona": "Rex", "persona_vars": {"user_name": "Bo"}}
        )
    with pytest.raises(NotFoundError, match="tool-nope"):
        client.agents.update(agent.id, tool_ids=["tool-nope"])
    with pytest.raises(UnprocessableEntityError, match="persona_version or persona_label"):
        client.agents.update(agent.id, extra_body={"persona_version": 1, "persona_label": "production"})
    with pytest.raises(UnprocessableEntityError, match="limit"):
        client.get("/v1/agents/", cast_to=object, options={"params": {"limit": -1}})
    assert client.agents.retrieve(agent.id).model_dump() == before


def _rex() -> PersonaRegistry:
    registry = PersonaRegistry()
    registry.define(
        Persona(name="Rex", role="Tutor", custom_sections={"ctx": "Teaching {user_name} about {topic}."})
    )
    return registry
