"""Built-in memory tools: what they write, and the errors the model sees (nothing written then)."""

from __future__ import annotations

import json

import pytest

from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.llm.types import ToolCall
from llm_persona.store import Store

HUMAN = "Name: Bob\nLikes: tea\nLikes: cake"


async def run_tool(runtime: AgentRuntime, model: ScriptedModel, call: ToolCall, **agent: object) -> dict:
    """Create an agent, have the model make `call`, and return the tool's result payload."""
    created = await runtime.create_agent(
        name="m",
        persona="Maya",
        persona_vars={"user_name": "Bob"},
        memory_blocks=[
            {"label": "human", "value": HUMAN, "limit": 60},
            {"label": "policy", "value": "Refunds under $50", "read_only": True},
        ],
        tools=["memory_rethink", "core_memory_append", "core_memory_replace"],
        model="scripted/test",
        **agent,
    )
    model.add([call], "ok")
    result = await runtime.send(created.id, "go")
    tool = next(m for m in result.messages if m.role == "tool")
    payload = json.loads(tool.content or "")
    payload["_agent"] = created.id
    payload["_status"] = tool.tool_status
    return payload


def block(store: Store, agent_id: str, label: str = "human") -> str:
    return store.agent_block("default", agent_id, label).value


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            tool_call("memory_replace", label="human", old_str="Bob", new_str="Robert"),
            HUMAN.replace("Bob", "Robert"),
        ),
        (
            tool_call("memory_replace", label="human", old_str="\nLikes: cake", new_str=""),
            "Name: Bob\nLikes: tea",
        ),
        (tool_call("memory_insert", label="human", new_str="Age: 40"), HUMAN + "\nAge: 40"),
        (tool_call("memory_insert", label="human", new_str="# Bob", insert_line=0), "# Bob\n" + HUMAN),
        (tool_call("memory_rethink", label="human", new_memory="Bob, tea"), "Bob, tea"),
        (tool_call("core_memory_append", label="human", content="Pet: cat"), HUMAN + "\nPet: cat"),
        (
            tool_call("core_memory_replace", label="human", old_content="tea", new_content="coffee"),
            HUMAN.replace("tea", "coffee"),
        ),
    ],
)
async def test_edits_are_written(
    runtime: AgentRuntime, model: ScriptedModel, store: Store, call: ToolCall, expected: str
) -> None:
    result = await run_tool(runtime, model, call)
    assert result["status"] == "OK"
    assert result["_status"] == "success"
    assert block(store, result["_agent"]) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            tool_call("memory_replace", label="human", old_str="Alice", new_str="x"),
            "No replacement was performed: old_str `Alice` does not appear verbatim in memory block `human`.",
        ),
        (
            tool_call("memory_replace", label="human", old_str="Likes", new_str="x"),
            "No replacement was performed: old_str `Likes` occurs 2 times (lines [2, 3]) in memory block `human`. "
            "Include more context so it is unique.",
        ),
        (
            tool_call("memory_replace", label="policy", old_str="50", new_str="500"),
            "Memory block `policy` is read-only: you cannot edit it. Leave it as it is.",
        ),
        (
            tool_call("memory_insert", label="human", new_str="x" * 40),
            "Edit failed: the new value of block `human` would have 73 characters, over its 60 character limit. "
            "Nothing was written; shorten or summarise the text.",
        ),
        (
            tool_call("memory_insert", label="human", new_str="x", insert_line=9),
            "Invalid insert_line 9: use a line between 0 and 3 of block `human`, or -1 to append at the end.",
        ),
        (
            tool_call("memory_rethink", label="nope", new_memory="x"),
            "Memory block `nope` does not exist. Existing blocks: `human`, `policy`.",
        ),
        (
            tool_call("memory_replace", label="human", old_str="1→ Name", new_str="x"),
            "old_str contains a line number prefix; line numbers are display only, leave them out.",
        ),
        (
            tool_call("core_memory_replace", label="human", old_content="zzz", new_content="x"),
            "Old content `zzz` not found in memory block `human`.",
        ),
        (
            ToolCall("c9", "memory_replace", '{"label": "human", "old_str": '),
            "Arguments for `memory_replace` are not valid JSON (Expecting value); send a JSON object.",
        ),
        (
            ToolCall("c9", "memory_replace", '["human"]'),
            "Arguments for `memory_replace` must be a JSON object, got list.",
        ),
        (
            tool_call("memory_replace", label="human", old_str="Bob"),
            "Bad arguments for `memory_replace`: 'new_str' is a required property.",
        ),
        (
            tool_call("delete_everything"),
            "Tool `delete_everything` does not exist. Available tools: archival_memory_insert, "
            "archival_memory_search, conversation_search, core_memory_append, core_memory_replace, "
            "memory_insert, memory_replace, memory_rethink.",
        ),
    ],
)
async def test_model_mistakes_are_tool_errors_and_write_nothing(
    runtime: AgentRuntime, model: ScriptedModel, store: Store, call: ToolCall, message: str
) -> None:
    result = await run_tool(runtime, model, call)
    assert result["status"] == "Failed"
    assert result["_status"] == "error"
    assert result["message"] == message
    assert block(store, result["_agent"]) == HUMAN
    assert block(store, result["_agent"], "policy") == "Refunds under $50"


async def test_conversation_search_finds_past_messages(runtime: AgentRuntime, model: ScriptedModel) -> None:
    agent = await runtime.create_agent(
        name="s", persona="Maya", persona_vars={"user_name": "Bo"}, model="scripted/t"
    )
    model.add("Noted.")
    await runtime.send(agent.id, "My order number is 4471")
    model.add([tool_call("conversation_search", query="order number")], "It is 4471.")
    result = await runtime.send(agent.id, "what was my order number?")
    payload = json.loads(next(m for m in result.messages if m.role == "tool").content or "")
    contents = [hit["content"] for hit in json.loads(payload["message"])["results"]]
    assert "My order number is 4471" in contents


async def test_a_shared_block_edit_reaches_every_agent(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    shared = store.create_block(
        "default",
        __import__("llm_persona.store", fromlist=["BlockRecord"]).BlockRecord(
            label="org", value="Office: Paris"
        ),
    )
    a = await runtime.create_agent(
        name="a", persona="Maya", persona_vars={"user_name": "A"}, block_ids=[shared.id], model="scripted/t"
    )
    b = await runtime.create_agent(
        name="b", persona="Maya", persona_vars={"user_name": "B"}, block_ids=[shared.id], model="scripted/t"
    )
    model.add([tool_call("memory_replace", label="org", old_str="Paris", new_str="Lyon")], "Moved.")
    await runtime.send(a.id, "we moved to Lyon")
    model.add("We are in Lyon.")
    await runtime.send(b.id, "where is the office?")
    assert "Office: Lyon" in (model.requests[-1].messages[0].content or "")
