"""Messages through the official SDK in strict mode, on both engines: JSON turns, SSE streams (steps
and tokens, pings, errors, a client that goes away), the message list and its paging, reset, and
bad input that must change nothing."""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import httpx
import pytest
from letta_client import APIStatusError, InternalServerError, Letta, NotFoundError, UnprocessableEntityError

from llm_persona.errors import ModelUnavailableError
from llm_persona.llm.scripted import FunctionModel, Reply, tool_call
from llm_persona.llm.types import ModelRequest, ModelResponse, Usage
from llm_persona.server import convert
from llm_persona.server.settings import ServerSettings
from tests.server.conftest import Running

HUMAN = "Name: Bob\nLikes: tea"
RENAME = ("memory_replace", {"label": "human", "old_str": "Bob", "new_str": "Rob"})


def make_agent(client: Letta) -> str:
    agent = client.agents.create(
        name="maya",
        memory_blocks=[{"label": "human", "value": HUMAN}],
        extra_body={"persona": "Maya", "persona_vars": {"user_name": "Bo"}},
    )
    return agent.id


def rename() -> Any:
    return [tool_call(RENAME[0], **RENAME[1])]


def stream(client: Letta, agent_id: str, **body: Any) -> list[Any]:
    """Every chunk of `POST .../messages/stream` (the SDK marks the method deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with client.agents.messages.stream(agent_id, **body) as chunks:
            return list(chunks)


def kinds(chunks: list[Any]) -> list[str]:
    """Message types in order, runs of one type collapsed (token pieces)."""
    out: list[str] = []
    for chunk in chunks:
        if not out or out[-1] != chunk.message_type:
            out.append(chunk.message_type)
    return out


def stored(running: Running, agent_id: str) -> list[tuple[str, str | None]]:
    return [(m.role, m.content) for m in running.store.list_messages("default", agent_id)]


def slow_model(running: Running, seconds: float, replies: list[Reply]) -> FunctionModel:
    """Every agent now answers with `replies` in turn, each after `seconds`."""
    script = iter(replies)

    async def answer(request: ModelRequest) -> Reply:
        await asyncio.sleep(seconds)
        return next(script)

    model = FunctionModel(answer)
    running.runtime.models = lambda handle: model
    return model


def ping_every(running: Running, seconds: float) -> None:
    running.server.config.app.state.settings = ServerSettings(ping_interval=seconds)


# --- JSON -----------------------------------------------------------------------------------------


def test_a_json_turn_answers_in_text(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    running.model.add("Hi Bo!")
    response = client.agents.messages.create(
        agent_id, messages=[{"role": "user", "content": "hi", "otid": "o-1"}]
    )
    assert [(m.message_type, m.content) for m in response.messages] == [("assistant_message", "Hi Bo!")]
    assert (response.stop_reason.stop_reason, response.usage.step_count) == ("end_turn", 1)
    assert response.usage.total_tokens > 0
    assert stored(running, agent_id) == [("user", "hi"), ("assistant", "Hi Bo!")]
    assert running.store.list_messages("default", agent_id)[0].otid == "o-1"
    assert "The customer is Bo." in running.model.last_request.messages[0].content


def test_a_memory_tool_call_edits_the_block(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    running.model.add(rename(), "Noted, Rob.")
    response = client.agents.messages.create(agent_id, input="I am Rob now")
    assert [m.message_type for m in response.messages] == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
    call, result = response.messages[0], response.messages[1]
    assert call.tool_call.name == "memory_replace"
    assert (result.status, result.tool_call_id) == ("success", call.tool_call.tool_call_id)
    assert response.usage.step_count == 2
    assert running.store.agent_block("default", agent_id, "human").value == "Name: Rob\nLikes: tea"
    assert client.agents.retrieve(agent_id).blocks[0].value == "Name: Rob\nLikes: tea"


def test_only_the_asked_message_types_come_back(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    running.model.add(rename(), "Noted.")
    response = client.agents.messages.create(
        agent_id, input="x", include_return_message_types=["assistant_message"]
    )
    assert [m.message_type for m in response.messages] == ["assistant_message"]


def test_a_failed_model_call_is_a_502_and_keeps_the_input(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    running.model.add(ModelUnavailableError("provider down", provider="scripted", model="model"))
    with pytest.raises(InternalServerError, match="provider down") as raised:
        client.agents.messages.create(agent_id, input="hello?")
    assert raised.value.status_code == 502
    assert stored(running, agent_id) == [("user", "hello?")]


# --- SSE ------------------------------------------------------------------------------------------


def test_a_step_stream_sends_each_message_then_the_stop_reason_and_usage(
    client: Letta, running: Running
) -> None:
    agent_id = make_agent(client)
    running.model.add(rename(), "Noted, Rob.")
    chunks = stream(client, agent_id, input="I am Rob")
    assert [c.message_type for c in chunks] == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
        "stop_reason",
        "usage_statistics",
    ]
    assert chunks[2].content == "Noted, Rob."
    assert (chunks[3].stop_reason, chunks[4].step_count) == ("end_turn", 2)
    assert running.store.agent_block("default", agent_id, "human").value.startswith("Name: Rob")

    running.model.add("Again.")  # `streaming: true` on the plain route is the same stream
    again = client.agents.messages.create(agent_id, input="again", streaming=True)
    assert [c.message_type for c in again] == ["assistant_message", "stop_reason", "usage_statistics"]


def test_a_token_stream_sends_pieces_of_one_message(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    text = "Hello there, how are you today?"
    running.model.add(rename(), text)
    chunks = stream(client, agent_id, input="hi", stream_tokens=True)
    assert kinds(chunks) == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
        "stop_reason",
        "usage_statistics",
    ]
    pieces = [c for c in chunks if c.message_type == "assistant_message"]
    assert len(pieces) > 1
    assert "".join(p.content for p in pieces) == text
    final = running.store.list_messages("default", agent_id)[-1]
    assert {p.id for p in pieces} == {final.id}
    assert {p.otid for p in pieces} == {convert.derived_otid(final.id, 0)}
    assert (chunks[-2].stop_reason, chunks[-1].step_count) == ("end_turn", 2)


def test_a_failed_stream_ends_with_the_stop_reason_and_an_error_event(
    client: Letta, running: Running
) -> None:
    agent_id = make_agent(client)
    running.model.add(ModelUnavailableError("provider down", provider="scripted", model="model"))
    seen: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        chunks = client.agents.messages.stream(agent_id, input="hello?")
    with pytest.raises(APIStatusError, match="provider down"):
        seen.extend(chunks)
    assert [(c.message_type, c.stop_reason) for c in seen] == [("stop_reason", "llm_api_error")]
    assert stored(running, agent_id) == [("user", "hello?")]


def test_quiet_streams_are_kept_alive_with_pings(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    ping_every(running, 0.05)
    slow_model(running, 0.4, ["Sorry for the wait.", "Again."])
    chunks = stream(client, agent_id, input="hi")
    assert kinds(chunks) == ["ping", "assistant_message", "stop_reason", "usage_statistics"]
    assert sum(c.message_type == "ping" for c in chunks) >= 3
    quiet = stream(client, agent_id, input="hi", include_pings=False)
    assert kinds(quiet) == ["assistant_message", "stop_reason", "usage_statistics"]


def test_a_turn_outlives_a_client_that_goes_away(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    slow_model(running, 0.3, [rename(), "Noted, Rob."])
    with (
        httpx.Client(base_url=running.url) as http,
        http.stream("POST", f"/v1/agents/{agent_id}/messages/stream", json={"input": "I am Rob"}) as response,
    ):
        first = next(line for line in response.iter_lines() if line.startswith("data:"))
    assert '"tool_call_message"' in first  # the client leaves after the first step
    deadline = time.monotonic() + 10
    while len(stored(running, agent_id)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [role for role, _ in stored(running, agent_id)] == ["user", "assistant", "tool", "assistant"]
    assert stored(running, agent_id)[-1] == ("assistant", "Noted, Rob.")
    assert running.store.agent_block("default", agent_id, "human").value.startswith("Name: Rob")


# --- history --------------------------------------------------------------------------------------


def test_the_sdk_pages_through_the_history_by_stored_message(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    both = ModelResponse(
        text="Let me note that.", tool_calls=rename(), usage=Usage(), finish_reason="tool_calls", model="m"
    )
    running.model.add("One.", both, "Noted.", "Three.")
    for text in ("one", "two", "three"):
        client.agents.messages.create(agent_id, input=text)
    records = running.store.list_messages("default", agent_id)
    expected = [(m.id, m.message_type) for m in convert.letta_messages_from_list(records)]
    assert len(records) == 8
    assert len(expected) == 9  # the assistant message that speaks and calls a tool is two Letta messages

    def listed(**query: Any) -> list[tuple[str, str]]:
        return [(m.id, m.message_type) for m in client.agents.messages.list(agent_id, **query)]

    assert listed(order="asc", limit=2) == expected
    assert listed(order="asc", limit=3) == expected
    assert listed() == expected[::-1]  # Letta's default: newest first
    assert listed(limit=2) == expected[::-1]
    assert listed(order="asc", after=records[5].id) == expected[-2:]
    assert listed(order="asc", include_return_message_types=["user_message"]) == [
        (m.id, "user_message") for m in records if m.role == "user"
    ]
    page = client.agents.messages.list(agent_id, order="asc", before=records[3].id, limit=2)
    assert [m.id for m in page.items] == [records[1].id, records[2].id]


def test_reset_empties_the_context_but_keeps_the_history(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    running.model.add("One.", "Fresh start.")
    client.agents.messages.create(agent_id, input="one")
    assert len(client.agents.retrieve(agent_id).message_ids) == 2

    state = client.agents.messages.reset(agent_id, add_default_initial_messages=False)
    assert state is not None
    assert (state.id, state.message_ids) == (agent_id, [])
    client.agents.messages.create(agent_id, input="two")
    assert [(m.role, m.content) for m in running.model.last_request.messages[1:]] == [("user", "two")]
    assert stored(running, agent_id) == [
        ("user", "one"),
        ("assistant", "One."),
        ("user", "two"),
        ("assistant", "Fresh start."),
    ]
    assert len(client.agents.retrieve(agent_id).message_ids) == 2
    assert len(list(client.agents.messages.list(agent_id))) == 4


# --- bad input ------------------------------------------------------------------------------------


def test_unknown_agents_are_404s_before_any_stream(client: Letta) -> None:
    missing = "agent-00000000-0000-0000-0000-000000000000"
    for call in (
        lambda: client.agents.messages.create(missing, input="hi"),
        lambda: client.agents.messages.create(missing, input="hi", streaming=True),
        lambda: stream(client, missing, input="hi"),
        lambda: client.agents.messages.list(missing),
        lambda: client.agents.messages.reset(missing),
    ):
        with pytest.raises(NotFoundError, match="agent-0000"):
            call()


def test_bad_bodies_are_422s_naming_the_field_and_write_nothing(client: Letta, running: Running) -> None:
    agent_id = make_agent(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "No message to send"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, r"messages\.0\.role"),
        ({"messages": [{"role": "user", "content": "  "}]}, r"messages\.0\.content.*no text"),
        ({"input": "hi", "stream_tokens": True}, "stream_tokens"),
        ({"input": "hi", "max_steps": 0}, "max_steps"),
        ({"input": "hi", "include_return_message_types": ["bogus"]}, "include_return_message_types"),
        ({"input": "hi", "colour": "red"}, "colour"),
    ]
    for body, expected in cases:
        with pytest.raises(UnprocessableEntityError, match=expected):
            client.post(f"/v1/agents/{agent_id}/messages", body=body, cast_to=object)
    with pytest.raises(UnprocessableEntityError, match="limit"):
        client.agents.messages.list(agent_id, limit=-1)
    with pytest.raises(NotFoundError, match="message-nope"):
        client.agents.messages.list(agent_id, after="message-nope")
    assert running.store.count_messages("default", agent_id) == 0
    assert running.model.requests == []
