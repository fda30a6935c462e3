"""Memory blocks: shared blocks (`/v1/blocks`) and an agent's core memory
(`/v1/agents/{id}/core-memory/blocks`).

Behaviour, following Letta's routers where they say something:

- A block's value never exceeds its limit: a create or edit that would is a 422 saying by how much,
  and writes nothing (an edit giving only `value` or only `limit` is checked against the stored
  other one).
- `read_only` restricts the agent (its memory tools refuse to edit the block), not the API: a
  developer edits read-only blocks here like any other.
- Editing a block (by id, or by label through an agent) changes it for every agent holding it;
  each recompiles its system prompt at its next step.
- Lists are bare JSON arrays paged by block (or agent) id, `after`/`before` exclusive in the listing
  order. Defaults as in Letta: `GET /v1/blocks` oldest first, 50 a page; an agent's blocks newest
  attached first, 100 a page; the agents holding a block newest first, 50 a page.
- `GET /v1/blocks` filters by `label` and, case-insensitively, by `label_search`, `value_search`
  and `description_search` (substrings), and by how many agents hold a block
  (`connected_to_agents_count_gt` / `_lt` / `_eq`). Filters on what this server does not keep
  (templates: `templates_only`, `name`; identities; projects; block tags) match no block.
- Attach and detach answer with the agent's state. Attaching a block whose label the agent already
  uses for another block is a 409; attaching a block the agent holds, or detaching one it does not,
  changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime
from llm_persona.server.routes._paging import Order, page_items
from llm_persona.server.routes.agents import agent_state, wire_state
from llm_persona.store import BlockRecord
from llm_persona.store.base import agent_not_found, block_not_found

router = APIRouter(prefix="/v1", tags=["blocks"])

Limit = Annotated[int | None, Query(ge=0, le=w.MAX_INT, description="At most this many items.")]
OrderBy = Literal["created_at"]
Many = Annotated[list[str] | None, Query()]


# --- shared blocks ----------------------------------------------------------------------------------


@router.post("/blocks/", response_model=w.Block)
async def create_block(body: w.CreateBlock, runtime: Runtime) -> w.Block:
    record = await asyncio.to_thread(runtime.store.create_block, runtime.tenant, BlockRecord(**body.fields()))
    return convert.block(record)


@router.get("/blocks/", response_model=list[w.Block])
async def list_blocks(
    runtime: Runtime,
    label: str | None = None,
    label_search: str | None = None,
    value_search: str | None = None,
    description_search: str | None = None,
    connected_to_agents_count_gt: int | None = None,
    connected_to_agents_count_lt: int | None = None,
    connected_to_agents_count_eq: Annotated[list[int] | None, Query()] = None,
    templates_only: bool = False,
    name: str | None = None,
    identity_id: str | None = None,
    identifier_keys: Many = None,
    project_id: str | None = None,
    tags: Many = None,
    match_all_tags: bool = False,
    before: str | None = None,
    after: str | None = None,
    limit: Limit = 50,
    order: Order = "asc",
    order_by: OrderBy = "created_at",
) -> list[w.Block]:
    if templates_only or name or identity_id or identifier_keys or project_id or tags:
        return []  # no block here is a template, has an identity, a project or tags
    given = {"label": label_search, "value": value_search, "description": description_search}
    searches = {field: text.lower() for field, text in given.items() if text}
    counts = (connected_to_agents_count_gt, connected_to_agents_count_lt, connected_to_agents_count_eq)
    store, tenant = runtime.store, runtime.tenant

    def keep(block: BlockRecord) -> bool:
        if label is not None and block.label != label:
            return False
        if any(text not in str(getattr(block, f) or "").lower() for f, text in searches.items()):
            return False
        if all(c is None for c in counts):
            return True
        try:
            held_by = len(store.block_agents(tenant, block.id))
        except LookupError:  # deleted since it was listed
            return False
        gt, lt, eq = counts
        return (gt is None or held_by > gt) and (lt is None or held_by < lt) and (eq is None or held_by in eq)

    def read() -> list[BlockRecord]:
        if not searches and all(c is None for c in counts):  # the store pages it
            return store.list_blocks(
                tenant, label=label, after=after, before=before, limit=limit, order=order
            )
        return page_items(
            store.list_blocks(tenant),
            after=after,
            before=before,
            limit=limit,
            order=order,
            not_found=lambda i: block_not_found(tenant, i),
            keep=keep,
        )

    return [convert.block(b) for b in await asyncio.to_thread(read)]


@router.get("/blocks/{block_id}", response_model=w.Block)
async def retrieve_block(block_id: str, runtime: Runtime) -> w.Block:
    return convert.block(await asyncio.to_thread(runtime.store.get_block, runtime.tenant, block_id))


@router.patch("/blocks/{block_id}", response_model=w.Block)
async def update_block(block_id: str, body: w.UpdateBlock, runtime: Runtime) -> w.Block:
    record = await asyncio.to_thread(runtime.store.update_block, runtime.tenant, block_id, **body.changes())
    return convert.block(record)


@router.delete("/blocks/{block_id}")
async def delete_block(block_id: str, runtime: Runtime) -> None:
    """Delete the block; the agents holding it lose it (as in Letta, the answer is empty)."""
    await asyncio.to_thread(runtime.store.delete_block, runtime.tenant, block_id)


@router.get("/blocks/{block_id}/agents", response_model=list[w.AgentState])
async def list_block_agents(
    block_id: str,
    runtime: Runtime,
    before: str | None = None,
    after: str | None = None,
    limit: Limit = 50,
    order: Order = "desc",
    order_by: OrderBy = "created_at",
    include_relationships: Many = None,
    include: Many = None,
) -> list[w.AgentState]:
    """The agents holding the block. `include` and `include_relationships` are accepted and
    ignored: every agent is returned whole."""
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[w.AgentState]:
        agents = page_items(
            store.block_agents(tenant, block_id),
            after=after,
            before=before,
            limit=limit,
            order=order,
            not_found=lambda i: agent_not_found(tenant, i),
        )
        out = []
        for agent in agents:
            try:
                out.append(wire_state(runtime, store.load_agent_state(tenant, agent.id)))
            except LookupError:  # deleted since it was listed
                continue
        return out

    return await asyncio.to_thread(read)


# --- an agent's core memory -------------------------------------------------------------------------


@router.get("/agents/{agent_id}/core-memory/blocks", response_model=list[w.Block])
async def list_agent_blocks(
    agent_id: str,
    runtime: Runtime,
    before: str | None = None,
    after: str | None = None,
    limit: Limit = 100,
    order: Order = "desc",
    order_by: OrderBy = "created_at",
) -> list[w.Block]:
    """The agent's blocks; ascending is the order they appear in its prompt (the order attached)."""
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[BlockRecord]:
        return page_items(
            store.agent_blocks(tenant, agent_id),
            after=after,
            before=before,
            limit=limit,
            order=order,
            not_found=lambda i: block_not_found(tenant, i),
        )

    return [convert.block(b) for b in await asyncio.to_thread(read)]


@router.get("/agents/{agent_id}/core-memory/blocks/{block_label}", response_model=w.Block)
async def retrieve_agent_block(agent_id: str, block_label: str, runtime: Runtime) -> w.Block:
    record = await asyncio.to_thread(runtime.store.agent_block, runtime.tenant, agent_id, block_label)
    return convert.block(record)


@router.patch("/agents/{agent_id}/core-memory/blocks/{block_label}", response_model=w.Block)
async def update_agent_block(
    agent_id: str, block_label: str, body: w.UpdateBlock, runtime: Runtime
) -> w.Block:
    """Edit the agent's block labelled `block_label` (shared blocks change for every holder)."""
    store, tenant = runtime.store, runtime.tenant
    changes: dict[str, Any] = body.changes()

    def update() -> BlockRecord:
        block = store.agent_block(tenant, agent_id, block_label)
        return store.update_block(tenant, block.id, **changes)

    return convert.block(await asyncio.to_thread(update))


@router.patch("/agents/{agent_id}/core-memory/blocks/attach/{block_id}", response_model=w.AgentState)
async def attach_block(agent_id: str, block_id: str, runtime: Runtime) -> w.AgentState:
    await asyncio.to_thread(runtime.store.attach_block, runtime.tenant, agent_id, block_id)
    return await agent_state(runtime, agent_id)


@router.patch("/agents/{agent_id}/core-memory/blocks/detach/{block_id}", response_model=w.AgentState)
async def detach_block(agent_id: str, block_id: str, runtime: Runtime) -> w.AgentState:
    await asyncio.to_thread(runtime.store.detach_block, runtime.tenant, agent_id, block_id)
    return await agent_state(runtime, agent_id)
