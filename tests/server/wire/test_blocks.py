"""Core memory blocks on the wire: as `BlockResponse` and as an agent's block, and the SDK's block calls."""

from __future__ import annotations

from letta_client import types as lt
from letta_client.types import agents as lta

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import AgentRecord, BlockRecord
from tests.server.wire.helpers import FakeServer, strict


def test_block_validates_as_block_response_and_agent_block(blocks: list[BlockRecord]) -> None:
    for record in blocks:
        body = convert.block(record)
        for sdk_type in (lt.BlockResponse, lta.Block):
            sdk = strict(sdk_type, body)
            assert (sdk.id, sdk.label, sdk.value, sdk.limit) == (
                record.id,
                record.label,
                record.value,
                record.limit,
            )
            assert (sdk.read_only, sdk.metadata, sdk.description) == (
                record.read_only,
                record.metadata,
                record.description,
            )


def test_sdk_blocks_round_trip(agent: AgentRecord, blocks: list[BlockRecord]) -> None:
    server = FakeServer()
    human = convert.block(blocks[0])
    server.on(
        "GET",
        f"/v1/agents/{agent.id}/core-memory/blocks",
        lambda r: [] if r.url.params.get("after") else [human],
    )
    server.on("GET", f"/v1/agents/{agent.id}/core-memory/blocks/human", lambda r: human)
    server.on("PATCH", f"/v1/agents/{agent.id}/core-memory/blocks/human", lambda r: human)
    server.on("POST", "/v1/blocks/", lambda r: human)
    server.on("PATCH", f"/v1/blocks/{blocks[0].id}", lambda r: human)
    client = server.client()

    assert [b.label for b in client.agents.blocks.list(agent.id)] == ["human"]
    assert client.agents.blocks.retrieve("human", agent_id=agent.id).value == blocks[0].value
    client.agents.blocks.update("human", agent_id=agent.id, value="Name: Bo. Likes tea.", limit=3000)
    assert w.UpdateBlock.model_validate(server.bodies[-1]).changes() == {
        "value": "Name: Bo. Likes tea.",
        "limit": 3000,
    }
    client.blocks.create(
        label="policies", value="Refunds under $50.", read_only=True, tags=["x"], is_template=False
    )
    assert w.CreateBlock.model_validate(server.bodies[-1]).fields() == {
        "label": "policies",
        "value": "Refunds under $50.",
        "limit": 20_000,
        "read_only": True,
    }
    client.blocks.update(blocks[0].id, description="About the user", hidden=False)
    assert w.UpdateBlock.model_validate(server.bodies[-1]).changes() == {"description": "About the user"}
