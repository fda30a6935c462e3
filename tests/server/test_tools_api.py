"""Tools through the official SDK in strict mode, on both engines: made from source without running
it, upserted, listed and filtered, attached to an agent whose model then calls the tool (which runs,
sandboxed), and bad input that must change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from letta_client import ConflictError, Letta, NotFoundError, PermissionDeniedError, UnprocessableEntityError

from llm_persona.llm.scripted import tool_call
from tests.server.conftest import Running

T = "default"

SHOUT = '''
def shout(text: str, times: int = 1) -> str:
    """Shout the text.

    Args:
        text: What to shout.
        times: How many times.
    """
    return (text.upper() + "!") * times
'''

WHISPER = '''
def whisper(text: str) -> str:
    """Whisper the text.

    Args:
        text: What to whisper.
    """
    return text.lower() + "..."
'''

FAILS = '''
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise ValueError("boom: " + reason)
'''


def detail(error: pytest.ExceptionInfo[Any]) -> str:
    body = error.value.body
    assert isinstance(body, dict), body
    return str(body["detail"])


def test_create_reads_the_schema_from_the_source_without_running_it(client: Letta, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = f"open({str(marker)!r}, 'w').write('x')\n" + SHOUT
    tool = client.tools.create(source_code=source, tags=["demo"])
    assert not marker.exists()
    assert (tool.name, tool.description, tool.tool_type, tool.tags) == (
        "shout",
        "Shout the text.",
        "custom",
        ["demo"],
    )
    assert tool.source_code == source
    assert tool.json_schema == {
        "name": "shout",
        "description": "Shout the text.",
        "parameters": {
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "What to shout."},
                "times": {"type": "integer", "description": "How many times."},
            },
            "required": ["text"],
        },
    }
    assert client.tools.retrieve(tool.id) == tool


def test_upsert_updates_in_place_by_name(client: Letta) -> None:
    first = client.tools.upsert(source_code=SHOUT)
    louder = SHOUT.replace('"!"', '"!!"').replace("Shout the text.", "Shout the text louder.")
    second = client.tools.upsert(source_code=louder, description="Shout, louder.")
    assert second.id == first.id
    assert (second.source_code, second.description) == (louder, "Shout, louder.")
    assert second.json_schema["description"] == "Shout, louder."
    other = client.tools.upsert(source_code=WHISPER)
    assert other.id != first.id
    assert sorted(t.name for t in client.tools.list()) == ["shout", "whisper"]


def test_update_rereads_the_schema_and_the_name(client: Letta) -> None:
    tool = client.tools.create(source_code=SHOUT)
    described = client.tools.update(tool.id, description="Yell it.", tags=["loud"])
    assert (described.description, described.json_schema["description"], described.tags) == (
        "Yell it.",
        "Yell it.",
        ["loud"],
    )
    renamed = client.tools.update(tool.id, source_code=WHISPER)
    assert (renamed.id, renamed.name, renamed.source_code) == (tool.id, "whisper", WHISPER)
    assert list(renamed.json_schema["parameters"]["properties"]) == ["text"]
    assert client.tools.delete(tool.id) is None
    with pytest.raises(NotFoundError):
        client.tools.retrieve(tool.id)


def test_list_pages_newest_first_and_filters(client: Letta) -> None:
    sources = [SHOUT.replace("shout", f"shout_{i}") for i in range(5)]
    ids = [client.tools.create(source_code=s).id for s in sources]
    assert [t.id for t in client.tools.list(limit=2)] == ids[::-1]  # auto-paged
    assert [t.id for t in client.tools.list(limit=2, order="asc")] == ids
    assert [t.id for t in client.tools.list(order="asc", after=ids[0], before=ids[3]).items] == ids[1:3]
    assert [t.id for t in client.tools.list(name="shout_2")] == [ids[2]]
    assert [t.id for t in client.tools.list(names=["shout_1", "shout_3"], order="asc")] == [ids[1], ids[3]]
    assert [t.id for t in client.tools.list(tool_ids=[f"{ids[0]},{ids[4]}"], order="asc")] == [ids[0], ids[4]]
    assert [t.id for t in client.tools.list(search="OUT_4")] == [ids[4]]
    assert [t.id for t in client.tools.list(search="out_", order="asc", after=ids[3])] == [ids[4]]
    assert [t.id for t in client.tools.list(search="out_4", order="asc", after=ids[0])] == [ids[4]]
    assert [t.id for t in client.tools.list(tool_types=["custom"], limit=2, order="asc")] == ids

    client.agents.create(name="maya")  # records the built-in memory tools
    builtin = {t.name for t in client.tools.list(return_only_letta_tools=True)}
    assert {"memory_insert", "memory_replace", "conversation_search"} <= builtin
    assert {t.tool_type for t in client.tools.list(exclude_tool_types=["custom"])} <= {
        "letta_core",
        "letta_memory_core",
    }
    assert {t.name for t in client.tools.list(tool_types=["letta_memory_core"])} >= {"memory_insert"}


def test_an_attached_tool_runs_when_the_model_calls_it(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    shout = client.tools.create(source_code=SHOUT)
    state = client.agents.tools.attach(shout.id, agent_id=agent.id)
    assert state is not None
    assert "shout" in [t.name for t in state.tools]
    assert [t.name for t in client.agents.tools.list(agent.id, limit=1).items] == ["shout"]  # newest first

    running.model.add([tool_call("shout", text="hi", times=2)], "They heard you.")
    answer = client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "Shout hi twice"}])
    kinds = [m.message_type for m in answer.messages]
    assert kinds == ["tool_call_message", "tool_return_message", "assistant_message"]
    returned = answer.messages[1]
    assert returned.message_type == "tool_return_message"
    assert (returned.status, returned.tool_return, returned.name) == ("success", "HI!HI!", "shout")
    offered = {s.name for s in running.model.requests[-2].tools}
    assert "shout" in offered
    assert "HI!HI!" in (running.model.last_request.messages[-1].content or "")

    # an exception in the tool is an error the model sees, not a failed request
    explode = client.tools.create(source_code=FAILS)
    client.agents.tools.attach(explode.id, agent_id=agent.id)
    running.model.add([tool_call("explode", reason="test")], "Sorry.")
    answer = client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "Explode"}])
    failed = answer.messages[1]
    assert failed.message_type == "tool_return_message"
    assert failed.status == "error"
    assert "boom: test" in failed.tool_return

    state = client.agents.tools.detach(shout.id, agent_id=agent.id)
    assert state is not None
    assert "shout" not in [t.name for t in state.tools]
    assert "shout" not in [t.name for t in client.agents.tools.list(agent.id)]
    assert client.tools.retrieve(shout.id).name == "shout"  # the tool itself stays


def test_agent_tools_page_through_every_tool(client: Letta) -> None:
    agent = client.agents.create(name="maya", include_base_tools=False)
    ids = [client.tools.create(source_code=SHOUT.replace("shout", f"s{i}")).id for i in range(12)]
    for tool_id in ids:
        client.agents.tools.attach(tool_id, agent_id=agent.id)
    assert len(client.agents.tools.list(agent.id).items) == 10  # Letta's page size
    assert [t.id for t in client.agents.tools.list(agent.id)] == ids[::-1]
    assert [t.id for t in client.agents.tools.list(agent.id, order="asc", limit=5)] == ids


# --- bad input changes nothing ----------------------------------------------------------------------


def test_duplicates_and_reserved_names_are_409s_and_change_nothing(client: Letta, running: Running) -> None:
    client.agents.create(name="maya")
    shout = client.tools.create(source_code=SHOUT)
    whisper = client.tools.create(source_code=WHISPER)
    before = running.store.list_tools(T)

    with pytest.raises(ConflictError) as duplicate:
        client.tools.create(source_code=SHOUT.replace("Shout the text.", "Another."))
    assert "'shout'" in detail(duplicate)
    reserved = 'def memory_insert(label: str) -> str:\n    """Mine."""\n    return label\n'
    for call in (client.tools.create, client.tools.upsert):
        with pytest.raises(ConflictError) as taken:
            call(source_code=reserved)
        assert "built-in" in detail(taken)
    with pytest.raises(ConflictError):
        client.tools.update(whisper.id, source_code=SHOUT)  # renames it to a taken name
    with pytest.raises(ConflictError):
        client.tools.update(whisper.id, source_code=reserved)

    builtin = client.tools.list(name="memory_insert").items[0]
    with pytest.raises(PermissionDeniedError) as forbidden:
        client.tools.update(builtin.id, description="Mine now.")
    assert "built-in" in detail(forbidden)
    assert running.store.list_tools(T) == before
    assert client.tools.retrieve(shout.id).description == "Shout the text."


def test_bad_sources_and_fields_are_422s_naming_the_problem(client: Letta, running: Running) -> None:
    count = running.store.count_tools(T)
    problems = {
        "x = 1\n": "function",
        "def broken(:\n    pass\n": "source_code",
        'def f(a: "Foo") -> str:\n    """F."""\n    return a\n': "Foo",
    }
    for source, named in problems.items():
        with pytest.raises(UnprocessableEntityError) as bad:
            client.tools.create(source_code=source)
        assert named in detail(bad), detail(bad)
    with pytest.raises(UnprocessableEntityError) as limit:
        client.tools.create(source_code=SHOUT, return_char_limit=0)
    assert "return_char_limit" in detail(limit)
    with pytest.raises(UnprocessableEntityError) as types:
        client.tools.list(tool_types=["custom,magic"])
    assert "tool_types" in detail(types)
    assert "magic" in detail(types)
    assert running.store.count_tools(T) == count

    tool = client.tools.create(source_code=SHOUT)
    before = running.store.get_tool(T, tool.id)
    with pytest.raises(UnprocessableEntityError):
        client.tools.update(tool.id, source_code="nothing here")
    with httpx.Client(base_url=running.url) as http:
        answer = http.patch(f"/v1/tools/{tool.id}", json={"colour": "red"})
    assert answer.status_code == 422
    assert "colour" in answer.json()["detail"]
    assert running.store.get_tool(T, tool.id) == before


def test_unknown_ids_and_cursors_are_404s(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    tool = client.tools.create(source_code=SHOUT)
    ghost_agent, ghost_tool = (
        "agent-00000000-0000-4000-8000-000000000000",
        "tool-00000000-0000-4000-8000-000000000000",
    )
    calls: list[Any] = [
        lambda: client.tools.retrieve(ghost_tool),
        lambda: client.tools.update(ghost_tool, description="d"),
        lambda: client.tools.delete(ghost_tool),
        lambda: client.tools.list(after=ghost_tool),
        lambda: client.tools.list(after=ghost_tool, search="shout"),
        lambda: client.agents.tools.list(ghost_agent),
        lambda: client.agents.tools.list(agent.id, after=ghost_tool),
        lambda: client.agents.tools.attach(ghost_tool, agent_id=agent.id),
        lambda: client.agents.tools.attach(tool.id, agent_id=ghost_agent),
        lambda: client.agents.tools.detach(ghost_tool, agent_id=agent.id),
    ]
    before = (running.store.list_tools(T), running.store.get_agent(T, agent.id))
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            call()
        assert detail(missing) != "Not Found"
    assert (running.store.list_tools(T), running.store.get_agent(T, agent.id)) == before
