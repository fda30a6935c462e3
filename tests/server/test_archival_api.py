"""Archival memory through the official SDK in strict mode, on both engines: insert, list and page,
search by keyword with tags and dates, delete, and bad input that must change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from letta_client import Letta, NotFoundError, UnprocessableEntityError

from llm_persona.llm.scripted import tool_call
from llm_persona.testing import FakeOpenAIServer, fake_embedding
from tests.server.conftest import Running

T = "default"
GHOST_AGENT = "agent-00000000-0000-4000-8000-000000000000"


def detail(error: pytest.ExceptionInfo[Any]) -> str:
    body = error.value.body
    assert isinstance(body, dict), body
    return str(body["detail"])


def test_insert_answers_the_passages_made(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya", embedding="openai/text-embedding-3-small")
    made = client.agents.passages.create(agent.id, text="Bo's order 42 was delayed.", tags=["orders", "bo"])
    assert isinstance(made, list)
    assert len(made) == 1
    passage = made[0]
    assert (passage.text, passage.tags) == ("Bo's order 42 was delayed.", ["orders", "bo"])
    assert passage.embedding_config is not None
    assert passage.embedding_config.embedding_model == "text-embedding-3-small"
    assert [p.id for p in running.store.list_passages(T, agent.id)] == [passage.id]

    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    dated = client.agents.passages.create(agent.id, text="An old note.", created_at=when)[0]
    assert dated.created_at == when


def test_inserts_are_embedded_with_the_agents_model_or_say_why_not(
    client: Letta, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = client.agents.create(name="maya", embedding="openai/text-embedding-3-small")
    unembedded = client.agents.passages.create(agent.id, text="Bo's cat is Miso.")[0]  # no key
    assert unembedded.embedding is None
    assert "OPENAI_API_KEY" in (unembedded.metadata or {})["embedding_error"]
    with FakeOpenAIServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        embedded = client.agents.passages.create(agent.id, text="Miso sleeps on the sofa.")[0]
        assert embedded.embedding == pytest.approx(fake_embedding("Miso sleeps on the sofa."))
        assert not embedded.metadata
        found = client.agents.passages.search(agent.id, query="where does Miso sleep")
        assert [r.id for r in found.results] == [embedded.id, unembedded.id]
        assert [b["input"] for b in fake.bodies("/v1/embeddings")][-1] == ["where does Miso sleep"]


def test_list_pages_and_filters_by_words(client: Letta) -> None:
    agent = client.agents.create(name="maya")
    texts = ["Bo likes tea.", "Al likes coffee.", "Bo ordered a kettle.", "Cy returned a mug.", "Bo asked."]
    ids = [client.agents.passages.create(agent.id, text=t)[0].id for t in texts]

    assert [p.id for p in client.agents.passages.list(agent.id)] == ids
    assert [p.id for p in client.agents.passages.list(agent.id, ascending=False)] == ids[::-1]
    page = client.agents.passages.list(agent.id, limit=2)
    assert [p.id for p in page] == ids[:2]
    assert [p.id for p in client.agents.passages.list(agent.id, after=page[-1].id, limit=2)] == ids[2:4]
    assert [p.id for p in client.agents.passages.list(agent.id, before=ids[4], limit=2)] == ids[2:4]
    assert [p.id for p in client.agents.passages.list(agent.id, after=ids[0], before=ids[3])] == ids[1:3]
    assert [p.id for p in client.agents.passages.list(agent.id, ascending=False, after=ids[3])] == ids[2::-1]

    assert [p.text for p in client.agents.passages.list(agent.id, search="bo")] == [
        "Bo likes tea.",
        "Bo ordered a kettle.",
        "Bo asked.",
    ]
    assert [p.id for p in client.agents.passages.list(agent.id, search="BO", after=ids[0], limit=1)] == [
        ids[2]
    ]
    assert client.agents.passages.list(agent.id, search="zebra") == []


def test_search_ranks_by_words_and_filters_by_tags_and_dates(client: Letta) -> None:
    agent = client.agents.create(name="maya")
    old = datetime(2024, 1, 1, tzinfo=UTC)

    def add(text: str, tags: list[str], days: int) -> str:
        return client.agents.passages.create(
            agent.id, text=text, tags=tags, created_at=old + timedelta(days=days)
        )[0].id

    tea = add("Bo likes green tea.", ["prefs"], 1)
    kettle = add("Bo ordered tea kettles.", ["orders", "prefs"], 2)  # as many words as the others
    mug = add("Bo returned a mug.", ["orders"], 3)

    found = client.agents.passages.search(agent.id, query="tea kettle")
    assert found.count == 2
    assert [r.id for r in found.results] == [kettle, tea]  # most words first
    assert found.results[0].content == "Bo ordered tea kettles."
    assert found.results[0].tags == ["orders", "prefs"]
    assert datetime.fromisoformat(found.results[0].timestamp) == old + timedelta(days=2)

    assert [r.id for r in client.agents.passages.search(agent.id, query="bo", top_k=2).results] == [
        mug,
        kettle,
    ]
    assert [r.id for r in client.agents.passages.search(agent.id, query="bo", tags=["orders"]).results] == [
        mug,
        kettle,
    ]
    both = client.agents.passages.search(agent.id, query="bo", tags=["orders", "prefs"], tag_match_mode="all")
    assert [r.id for r in both.results] == [kettle]
    window = client.agents.passages.search(
        agent.id,
        query="bo",
        start_datetime=old + timedelta(days=1, hours=12),
        end_datetime=old + timedelta(days=2),
    )
    assert [r.id for r in window.results] == [kettle]
    assert client.agents.passages.search(agent.id, query="zebra").count == 0


def test_what_the_agent_archives_is_listed_and_searched(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    running.model.add(
        [tool_call("archival_memory_insert", content="Bo's dog is called Pip.", tags=["bo"])], "Noted."
    )
    response = client.agents.messages.create(agent.id, input="My dog is Pip")
    assert [m.message_type for m in response.messages][:2] == ["tool_call_message", "tool_return_message"]
    (passage,) = client.agents.passages.list(agent.id)
    assert (passage.text, passage.tags) == ("Bo's dog is called Pip.", ["bo"])
    found = client.agents.passages.search(agent.id, query="dog name")
    assert [r.id for r in found.results] == [passage.id]


def test_delete_removes_one_passage(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    keep = client.agents.passages.create(agent.id, text="Keep me.")[0]
    drop = client.agents.passages.create(agent.id, text="Drop me.")[0]
    answer = client.agents.passages.delete(drop.id, agent_id=agent.id)
    assert answer == {"message": f"Memory id={drop.id} successfully deleted"}
    assert [p.id for p in client.agents.passages.list(agent.id)] == [keep.id]
    assert client.agents.passages.search(agent.id, query="drop").count == 0


# --- bad input changes nothing ----------------------------------------------------------------------


def test_unknown_agents_passages_and_cursors_are_404s(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    other = client.agents.create(name="leo")
    theirs = client.agents.passages.create(other.id, text="Leo's note.")[0]
    mine = client.agents.passages.create(agent.id, text="Maya's note.")[0]
    ghost = "passage-00000000-0000-4000-8000-000000000000"
    calls: list[Any] = [
        lambda: client.agents.passages.create(GHOST_AGENT, text="t"),
        lambda: client.agents.passages.list(GHOST_AGENT),
        lambda: client.agents.passages.search(GHOST_AGENT, query="t"),
        lambda: client.agents.passages.delete(mine.id, agent_id=GHOST_AGENT),
        lambda: client.agents.passages.delete(ghost, agent_id=agent.id),
        lambda: client.agents.passages.delete(theirs.id, agent_id=agent.id),  # another agent's
        lambda: client.agents.passages.list(agent.id, after=ghost),
        lambda: client.agents.passages.list(agent.id, before=theirs.id),
    ]
    before = (running.store.list_passages(T, agent.id), running.store.list_passages(T, other.id))
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            call()
        assert detail(missing) != "Not Found"
    assert (running.store.list_passages(T, agent.id), running.store.list_passages(T, other.id)) == before


def test_bad_input_is_a_422_naming_the_field(client: Letta, running: Running) -> None:
    agent = client.agents.create(name="maya")
    client.agents.passages.create(agent.id, text="Only one.")
    with pytest.raises(UnprocessableEntityError) as empty:
        client.agents.passages.create(agent.id, text="")
    assert "text" in detail(empty)
    with pytest.raises(UnprocessableEntityError) as top_k:
        client.agents.passages.search(agent.id, query="one", top_k=0)
    assert "top_k" in detail(top_k)
    with pytest.raises(UnprocessableEntityError) as mode:
        client.agents.passages.search(agent.id, query="one", tag_match_mode="some")  # type: ignore[arg-type]
    assert "tag_match_mode" in detail(mode)
    base = f"/v1/agents/{agent.id}/archival-memory"
    with httpx.Client(base_url=running.url) as http:
        for url, field in (
            (f"{base}/search", "query"),
            (f"{base}?limit=-1", "limit"),
            (f"{base}/search?query=a&start_datetime=yesterday", "start_datetime"),
        ):
            answer = http.get(url)
            assert answer.status_code == 422, url
            assert field in answer.json()["detail"]
        answer = http.post(base, json={"text": "t", "colour": "red"})
        assert answer.status_code == 422
        assert "colour" in answer.json()["detail"]
    assert [p.text for p in running.store.list_passages(T, agent.id)] == ["Only one."]
