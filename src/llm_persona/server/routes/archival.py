"""Archival memory: `/v1/agents/{id}/archival-memory` (insert, list, search, delete).

Behaviour, following Letta's router where it says something:

- Inserting answers with the list of passages made, as Letta does (Letta may cut a long text into
  several; here a text is always one passage). `created_at` may be given, e.g. when importing.
- The list is a bare JSON array, oldest first (`ascending=false`: newest first), 100 a page, paged
  by passage id (`after`/`before`, exclusive, in the listing order). The SDK does not auto-page it.
  `search` keeps the passages containing any of its words (any case), in the same order.
- A passage is embedded with the agent's `embedding` model when inserted; if that fails it is
  stored all the same, without a vector and with `metadata.embedding_error` saying why.
- Search ranks by words (full text; see store/passages.py): passages holding the most words of
  `query` (each also as a prefix) first, then the most relevant, then the newest; an empty query
  gives the newest. If the agent has an embedding model, by meaning too (the two rankings fused);
  if embedding the query fails, by words alone. `tags` filters (`tag_match_mode`: any or all of them),
  `start_datetime` / `end_datetime` bound the creation time (inclusive; without a zone: UTC), and
  `top_k` caps the results (default 10). Timestamps are ISO 8601 in UTC.
- Deleting answers `{"message": ...}` as Letta does; an id the agent does not hold is a 404.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from llm_persona.agents.archive import embed_for, new_passage
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime

router = APIRouter(prefix="/v1/agents", tags=["archival-memory"])

#: How many results a search returns when `top_k` is not given.
DEFAULT_TOP_K = 10


@router.post("/{agent_id}/archival-memory", response_model=list[w.Passage])
async def create_passage(agent_id: str, body: w.CreatePassage, runtime: Runtime) -> list[w.Passage]:
    store, tenant = runtime.store, runtime.tenant
    agent = await asyncio.to_thread(store.get_agent, tenant, agent_id)
    vector, error = await embed_for(agent, body.text, runtime.embedders)
    record = new_passage(agent, body.text, body.tags or (), vector, error)
    if body.created_at is not None:
        record.created_at = body.created_at
    stored = await asyncio.to_thread(store.insert_passages, tenant, agent_id, [record])
    return [convert.passage(p, embedding=agent.embedding) for p in stored]


@router.get("/{agent_id}/archival-memory", response_model=list[w.Passage])
async def list_passages(
    agent_id: str,
    runtime: Runtime,
    after: str | None = None,
    before: str | None = None,
    limit: Annotated[int | None, Query(ge=0, le=w.MAX_INT, description="At most this many passages.")] = 100,
    search: Annotated[str | None, Query(description="Passages containing any of these words.")] = None,
    ascending: Annotated[bool | None, Query(description="Oldest first (default) or newest first.")] = True,
) -> list[w.Passage]:
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[w.Passage]:
        embedding = store.get_agent(tenant, agent_id).embedding
        records = store.list_passages(
            tenant,
            agent_id,
            query=search,
            after=after,
            before=before,
            limit=limit,
            order="asc" if ascending is not False else "desc",
        )
        return [convert.passage(p, embedding=embedding) for p in records]

    return await asyncio.to_thread(read)


@router.get("/{agent_id}/archival-memory/search", response_model=w.PassageSearchResponse)
async def search_passages(
    agent_id: str,
    runtime: Runtime,
    query: str,
    tags: Annotated[list[str] | None, Query(description="Only passages with these tags.")] = None,
    tag_match_mode: Literal["any", "all"] = "any",
    top_k: Annotated[int | None, Query(ge=1, le=w.MAX_INT, description="At most this many results.")] = None,
    start_datetime: w.UTCDatetime | None = None,
    end_datetime: w.UTCDatetime | None = None,
) -> w.PassageSearchResponse:
    agent = await asyncio.to_thread(runtime.store.get_agent, runtime.tenant, agent_id)
    vector = None
    if query.strip():
        vector, _ = await embed_for(agent, query, runtime.embedders)
    records = await asyncio.to_thread(
        runtime.store.search_passages,
        runtime.tenant,
        agent_id,
        query,
        tags=tags,
        match_all_tags=tag_match_mode == "all",
        start=start_datetime,
        end=end_datetime,
        limit=top_k or DEFAULT_TOP_K,
        embedding=vector,
    )
    return convert.passage_search(records)


@router.delete("/{agent_id}/archival-memory/{memory_id}")
async def delete_passage(agent_id: str, memory_id: str, runtime: Runtime) -> dict[str, str]:
    await asyncio.to_thread(runtime.store.delete_passage, runtime.tenant, agent_id, memory_id)
    return {"message": f"Memory id={memory_id} successfully deleted"}
