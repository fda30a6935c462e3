"""Archival memory tools (`archival_memory_insert`, `archival_memory_search`) through the runtime:
what they store and find, how results read, and the mistakes the model sees as tool errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.llm.types import ToolCall
from llm_persona.store import AgentRecord, PassageRecord, Store
from llm_persona.testing import FakeOpenAIServer, fake_embedding

T = "default"
DAY = datetime(2024, 3, 15, 9, 30, tzinfo=UTC)


async def make(runtime: AgentRuntime, embedding: str | None = None) -> AgentRecord:
    return await runtime.create_agent(
        name="a", persona="Maya", persona_vars={"user_name": "Bo"}, model="scripted/test", embedding=embedding
    )


@pytest.fixture
def embeddings(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI server for the embeddings, found through the environment as in production."""
    with FakeOpenAIServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield fake


async def call(
    runtime: AgentRuntime, model: ScriptedModel, agent: AgentRecord, *calls: ToolCall
) -> list[Any]:
    """Have the model make `calls` in one step; the tools' results, parsed, in order."""
    model.add(list(calls), "ok")
    result = await runtime.send(agent.id, "go")
    out = []
    for message in result.messages:
        if message.role == "tool":
            payload = json.loads(message.content or "")
            out.append((message.tool_status, payload["message"]))
    return out


def seed(store: Store, agent: AgentRecord) -> list[PassageRecord]:
    # as many words each: equally relevant passages come newest first
    return store.insert_passages(
        T,
        agent.id,
        [
            PassageRecord(text="Bo prefers green tea", tags=["prefs"], created_at=DAY),
            PassageRecord(
                text="Bo ordered tea kettles", tags=["orders", "prefs"], created_at=DAY + timedelta(days=1)
            ),
            PassageRecord(text="Bo returned a mug", tags=["orders"], created_at=DAY + timedelta(days=2)),
        ],
    )


async def test_a_default_agent_inserts_and_the_step_commits_the_passage(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    agent = await make(runtime)
    [(status, message)] = await call(
        runtime,
        model,
        agent,
        tool_call(
            "archival_memory_insert", content="Bo's birthday is 3 May", tags=["bo", " dates", "bo", ""]
        ),
    )
    assert status == "success"
    (stored,) = store.list_passages(T, agent.id)
    assert message == f"Stored in archival memory as {stored.id}."
    assert (stored.text, stored.tags) == ("Bo's birthday is 3 May", ["bo", "dates"])
    assert store.search_passages(T, agent.id, "birthday") == [stored]


async def test_search_answers_in_letta_shape_best_first(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    agent = await make(runtime)
    tea, kettle, _ = seed(store, agent)
    [(status, message)] = await call(
        runtime, model, agent, tool_call("archival_memory_search", query="tea kettle")
    )
    assert status == "success"
    assert json.loads(message) == [
        {"timestamp": "2024-03-16 09:30:00 AM UTC+0000", "content": kettle.text, "tags": ["orders", "prefs"]},
        {"timestamp": "2024-03-15 09:30:00 AM UTC+0000", "content": tea.text, "tags": ["prefs"]},
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"query": "bo", "top_k": 1}, ["Bo returned a mug"]),
        (
            {"query": "bo", "top_k": 1000},
            ["Bo returned a mug", "Bo ordered tea kettles", "Bo prefers green tea"],
        ),
        ({"query": "bo", "tags": ["orders"]}, ["Bo returned a mug", "Bo ordered tea kettles"]),
        ({"query": "bo", "tags": ["orders", "prefs"], "tag_match_mode": "all"}, ["Bo ordered tea kettles"]),
        ({"query": "bo", "start_datetime": "2024-03-16"}, ["Bo returned a mug", "Bo ordered tea kettles"]),
        ({"query": "bo", "end_datetime": "2024-03-16"}, ["Bo ordered tea kettles", "Bo prefers green tea"]),
        ({"query": "bo", "end_datetime": "2024-03-16T09:00"}, ["Bo prefers green tea"]),
        (
            {"query": "bo", "start_datetime": "2024-03-16T11:30+02:00"},
            ["Bo returned a mug", "Bo ordered tea kettles"],
        ),
    ],
)
async def test_search_filters(
    runtime: AgentRuntime, model: ScriptedModel, store: Store, arguments: dict[str, Any], expected: list[str]
) -> None:
    agent = await make(runtime)
    seed(store, agent)
    [(status, message)] = await call(runtime, model, agent, tool_call("archival_memory_search", **arguments))
    assert status == "success"
    assert [hit["content"] for hit in json.loads(message)] == expected


async def test_a_passage_inserted_in_one_step_is_found_in_the_next(
    runtime: AgentRuntime, model: ScriptedModel
) -> None:
    agent = await make(runtime)
    model.add(
        [tool_call("archival_memory_insert", content="The spare key is under the blue pot")],
        [tool_call("archival_memory_search", query="where is the key")],
        "Under the blue pot.",
    )
    result = await runtime.send(agent.id, "remember where the key is, then tell me")
    found = json.loads(
        json.loads([m for m in result.messages if m.role == "tool"][1].content or "")["message"]
    )
    assert [hit["content"] for hit in found] == ["The spare key is under the blue pot"]


@pytest.mark.parametrize(
    ("made", "message"),
    [
        (
            tool_call("archival_memory_insert", content="  "),
            "content is empty: pass the text to store in archival memory.",
        ),
        (
            tool_call("archival_memory_insert", content="x", tags="work"),
            "Bad arguments for `archival_memory_insert`: 'work' is not of type 'array'.",
        ),
        (
            tool_call("archival_memory_insert", tags=["work"]),
            "Bad arguments for `archival_memory_insert`: 'content' is a required property.",
        ),
        (
            tool_call("archival_memory_search", query=" "),
            "query is empty: describe what to look for in archival memory.",
        ),
        (
            tool_call("archival_memory_search", query="tea", top_k=0),
            "top_k is 0: ask for at least 1 result, or leave it out for 10.",
        ),
        (
            tool_call("archival_memory_search", query="tea", top_k="5"),
            "Bad arguments for `archival_memory_search`: '5' is not of type 'integer'.",
        ),
        (
            tool_call("archival_memory_search", query="tea", tag_match_mode="some"),
            "Bad arguments for `archival_memory_search`: 'some' is not one of ['any', 'all'].",
        ),
        (
            tool_call("archival_memory_search", query="tea", start_datetime="last tuesday"),
            "start_datetime 'last tuesday' is not an ISO 8601 date or time; use e.g. 2024-01-15 or "
            "2024-01-15T14:30.",
        ),
        (
            tool_call(
                "archival_memory_search", query="tea", start_datetime="2024-03-17", end_datetime="2024-03-15"
            ),
            "start_datetime '2024-03-17' is after end_datetime '2024-03-15'; swap them or drop one.",
        ),
    ],
)
async def test_model_mistakes_are_tool_errors_and_store_nothing(
    runtime: AgentRuntime, model: ScriptedModel, store: Store, made: ToolCall, message: str
) -> None:
    agent = await make(runtime)
    assert await call(runtime, model, agent, made) == [("error", message)]
    assert store.count_passages(T, agent.id) == 0


async def test_no_match_is_said_plainly(runtime: AgentRuntime, model: ScriptedModel, store: Store) -> None:
    agent = await make(runtime)
    seed(store, agent)
    assert await call(runtime, model, agent, tool_call("archival_memory_search", query="zebra")) == [
        ("success", "No archival memories match `zebra`.")
    ]


# --- search by meaning ------------------------------------------------------------------------------

SMALL = "openai/text-embedding-3-small"


async def test_with_an_embedding_model_passages_are_embedded_and_found_by_meaning(
    runtime: AgentRuntime, model: ScriptedModel, store: Store, embeddings: FakeOpenAIServer
) -> None:
    agent = await make(runtime, embedding=SMALL)
    await call(runtime, model, agent, tool_call("archival_memory_insert", content="Bo's cat is called Miso"))
    (cat,) = store.list_passages(T, agent.id)
    assert cat.embedding == pytest.approx(fake_embedding("Bo's cat is called Miso"))
    assert cat.metadata == {}
    question = "where does the pet sleep"
    (naps,) = store.insert_passages(
        T, agent.id, [PassageRecord(text="Miso naps all day on a sofa", embedding=fake_embedding(question))]
    )
    [(status, message)] = await call(
        runtime, model, agent, tool_call("archival_memory_search", query=question)
    )
    assert status == "success"
    assert json.loads(message)[0]["content"] == naps.text  # no word in common
    asked = [body["input"] for body in embeddings.bodies("/v1/embeddings")]
    assert asked == [["Bo's cat is called Miso"], [question]]
    assert {body["model"] for body in embeddings.bodies("/v1/embeddings")} == {"text-embedding-3-small"}


async def test_when_embedding_fails_the_passage_is_stored_and_found_by_words(
    runtime: AgentRuntime, model: ScriptedModel, store: Store
) -> None:
    agent = await make(runtime, embedding=SMALL)  # no OPENAI_API_KEY: every embedding fails
    [(status, message)] = await call(
        runtime, model, agent, tool_call("archival_memory_insert", content="Bo's cat is called Miso")
    )
    (cat,) = store.list_passages(T, agent.id)
    assert (status, message) == (
        "success",
        f"Stored in archival memory as {cat.id} (searchable by words only: embedding failed).",
    )
    assert cat.embedding is None
    assert "OPENAI_API_KEY" in cat.metadata["embedding_error"]
    [(status, message)] = await call(runtime, model, agent, tool_call("archival_memory_search", query="cat"))
    assert [hit["content"] for hit in json.loads(message)] == [cat.text]
