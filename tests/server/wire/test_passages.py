"""Archival passages on the wire: create, list and search, and the SDK's passage calls."""

from __future__ import annotations

from letta_client.types import agents as lta

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import AgentRecord, PassageRecord
from tests.server.wire.helpers import FakeServer, strict


def test_passages_validate_as_create_list_and_search(
    agent: AgentRecord, passages: list[PassageRecord]
) -> None:
    bodies = [convert.passage(p, embedding=agent.embedding) for p in passages]
    for sdk_type in (lta.PassageCreateResponse, lta.PassageListResponse):
        sdk = strict(sdk_type, bodies)
        assert [p.text for p in sdk] == [p.text for p in passages]
        assert sdk[1].embedding == [0.1, 0.2, 0.3]
        assert sdk[0].tags == ["orders"]
        assert sdk[0].embedding_config.embedding_model == "text-embedding-3-small"
    found = strict(lta.PassageSearchResponse, convert.passage_search(passages))
    assert found.count == 2
    assert [r.content for r in found.results] == [p.text for p in passages]
    assert found.results[0].timestamp.endswith("+00:00")


def test_sdk_passages_round_trip(agent: AgentRecord, passages: list[PassageRecord]) -> None:
    server = FakeServer()
    bodies = [convert.passage(p, embedding=agent.embedding) for p in passages]
    server.on("POST", f"/v1/agents/{agent.id}/archival-memory", lambda r: bodies[:1])
    server.on("GET", f"/v1/agents/{agent.id}/archival-memory", lambda r: bodies)
    server.on(
        "GET", f"/v1/agents/{agent.id}/archival-memory/search", lambda r: convert.passage_search(passages)
    )
    client = server.client()

    made = client.agents.passages.create(agent.id, text="Bo's order 42 was delayed once.", tags=["orders"])
    assert made[0].id == passages[0].id
    body = w.CreatePassage.model_validate(server.bodies[-1])
    assert (body.text, body.tags) == ("Bo's order 42 was delayed once.", ["orders"])
    client.agents.passages.create(agent.id, text="dated", created_at="2025-01-02T03:04:05Z")
    assert w.CreatePassage.model_validate(server.bodies[-1]).created_at is not None
    assert len(client.agents.passages.list(agent.id)) == 2
    found = client.agents.passages.search(agent.id, query="order", tags=["orders", "bo"], top_k=3)
    assert found.count == 2
    assert server.queries[-1].get_list("tags") == ["orders", "bo"]  # arrays arrive repeated
