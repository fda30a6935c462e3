"""Tools: `/v1/tools` (create, upsert, list, retrieve, update, delete) and an agent's tools
(`/v1/agents/{id}/tools`, attach and detach).

Behaviour, following Letta's routers where they say something:

- A tool is made from `source_code`: its JSON schema is read from the function's signature and
  Google-style docstring, never by running it (`agents/tools/source_schema.py`). A source without a
  function, or with a parameter type the schema cannot express, is a 422 saying why. A
  `json_schema` in the body is used as given instead. Custom tools run in a sandboxed subprocess
  when a model calls them (`agents/tools/sandbox.py`).
- Names are unique per tenant: creating a tool whose name is taken is a 409 (upsert, `PUT`, updates
  that tool in place instead, keeping its id). The names of the built-in memory tools are reserved:
  a custom tool cannot take one (409), and the built-in tools cannot be edited (403); deleting one
  takes it from every agent that holds it, until an agent is created with it again.
- Lists are bare JSON arrays paged by tool id, `after`/`before` exclusive in the listing order,
  newest first by default (50 a page; an agent's tools 10 a page, as in Letta). `GET /v1/tools`
  filters by `name` / `names`, `tool_ids`, `search` (a case-insensitive part of the name),
  `tool_types` / `exclude_tool_types` (Letta's tool types; repeated or comma-separated) and
  `return_only_letta_tools`.
- Attach and detach answer with the agent's state (Letta 1.x answers null; the SDK takes either).
  Attaching a tool the agent holds, or detaching one it does not, changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from llm_persona.agents.tools.builtin import BUILTIN_TOOLS
from llm_persona.errors import ConflictError
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime
from llm_persona.server.routes._paging import Order, page_items
from llm_persona.server.routes.agents import agent_state
from llm_persona.server.schemas.common import TOOL_TYPES
from llm_persona.store import ToolRecord
from llm_persona.store.base import tool_not_found

router = APIRouter(prefix="/v1", tags=["tools"])

Limit = Annotated[int | None, Query(ge=0, le=w.MAX_INT, description="At most this many tools.")]
OrderBy = Literal["created_at"]
Many = Annotated[list[str] | None, Query(description="Repeated, or comma-separated.")]


def _reserved(name: str) -> None:
    if name in BUILTIN_TOOLS:
        raise ConflictError(
            f"{name!r} is the name of a built-in memory tool; give your tool another name "
            f"(reserved: {', '.join(sorted(BUILTIN_TOOLS))})."
        )


def _split(values: Sequence[str] | None) -> list[str] | None:
    """Repeated query values, each possibly comma-separated, as one list (None when none given)."""
    parts = [part.strip() for value in values or () for part in value.split(",") if part.strip()]
    return parts or None


def _tool_types(values: Sequence[str] | None, field: str) -> set[str] | None:
    types = _split(values)
    if types is None:
        return None
    unknown = sorted(set(types) - TOOL_TYPES)
    if unknown:
        raise HTTPException(
            422, f"{field}: unknown tool type(s) {', '.join(unknown)}; use {', '.join(sorted(TOOL_TYPES))}."
        )
    return set(types)


# --- tools ------------------------------------------------------------------------------------------


@router.post("/tools/", response_model=w.Tool)
async def create_tool(body: w.CreateTool, runtime: Runtime) -> w.Tool:
    record = convert.tool_record(body)
    _reserved(record.name)
    return convert.tool(await asyncio.to_thread(runtime.store.create_tool, runtime.tenant, record))


@router.put("/tools/", response_model=w.Tool)
async def upsert_tool(body: w.CreateTool, runtime: Runtime) -> w.Tool:
    """Create the tool, or update the tool of the same name in place (keeping its id)."""
    record = convert.tool_record(body)
    _reserved(record.name)
    return convert.tool(await asyncio.to_thread(runtime.store.upsert_tool, runtime.tenant, record))


@router.get("/tools/", response_model=list[w.Tool])
async def list_tools(
    runtime: Runtime,
    name: str | None = None,
    names: Many = None,
    tool_ids: Many = None,
    search: str | None = None,
    tool_types: Many = None,
    exclude_tool_types: Many = None,
    return_only_letta_tools: bool | None = False,
    before: str | None = None,
    after: str | None = None,
    limit: Limit = 50,
    order: Order = "desc",
    order_by: OrderBy = "created_at",
) -> list[w.Tool]:
    extra_names = _split(names)
    wanted_names = {*(extra_names or ()), *([name] if name else [])} or None
    wanted_ids = _split(tool_ids)
    include = _tool_types(tool_types, "tool_types")
    exclude = _tool_types(exclude_tool_types, "exclude_tool_types")
    needle = search.lower() if search else None
    filtered = any(f is not None for f in (extra_names, wanted_ids, needle, include, exclude))
    store, tenant = runtime.store, runtime.tenant

    def keep(tool: w.Tool) -> bool:
        return (
            (wanted_names is None or tool.name in wanted_names)
            and (wanted_ids is None or tool.id in wanted_ids)
            and (needle is None or needle in tool.name.lower())
            and (include is None or tool.tool_type in include)
            and (exclude is None or tool.tool_type not in exclude)
            and (not return_only_letta_tools or tool.tool_type.startswith("letta_"))
        )

    def read() -> list[w.Tool]:
        if not filtered and not return_only_letta_tools:  # the store pages it
            records = store.list_tools(
                tenant, name=name, after=after, before=before, limit=limit, order=order
            )
            return [convert.tool(t) for t in records]
        return page_items(
            [convert.tool(t) for t in store.list_tools(tenant)],
            after=after,
            before=before,
            limit=limit,
            order=order,
            not_found=lambda i: tool_not_found(tenant, i),
            keep=keep,
        )

    return await asyncio.to_thread(read)


@router.get("/tools/{tool_id}", response_model=w.Tool)
async def retrieve_tool(tool_id: str, runtime: Runtime) -> w.Tool:
    return convert.tool(await asyncio.to_thread(runtime.store.get_tool, runtime.tenant, tool_id))


@router.patch("/tools/{tool_id}", response_model=w.Tool)
async def update_tool(tool_id: str, body: w.UpdateTool, runtime: Runtime) -> w.Tool:
    """Change the given fields; new `source_code` (without a `json_schema`) re-reads the schema,
    and so the name, from the source."""
    store, tenant = runtime.store, runtime.tenant

    def update() -> ToolRecord:
        current = store.get_tool(tenant, tool_id)
        if current.tool_type != "custom":
            raise HTTPException(
                403,
                f"{current.name!r} is a built-in tool and cannot be edited. "
                "Create a custom tool (POST /v1/tools/) with another name instead.",
            )
        changes = body.changes(current.json_schema)
        if changes.get("name", current.name) != current.name:
            _reserved(changes["name"])
        return store.update_tool(tenant, tool_id, **changes)

    return convert.tool(await asyncio.to_thread(update))


@router.delete("/tools/{tool_id}")
async def delete_tool(tool_id: str, runtime: Runtime) -> None:
    """Delete the tool; agents holding it lose it (as in Letta, the answer is empty)."""
    await asyncio.to_thread(runtime.store.delete_tool, runtime.tenant, tool_id)


# --- an agent's tools -------------------------------------------------------------------------------


@router.get("/agents/{agent_id}/tools", response_model=list[w.Tool])
async def list_agent_tools(
    agent_id: str,
    runtime: Runtime,
    before: str | None = None,
    after: str | None = None,
    limit: Limit = 10,
    order: Order = "desc",
    order_by: OrderBy = "created_at",
) -> list[w.Tool]:
    """The agent's tools; ascending is the order their schemas reach the model (the order attached)."""
    store, tenant = runtime.store, runtime.tenant

    def read() -> list[ToolRecord]:
        return page_items(
            store.agent_tools(tenant, agent_id),
            after=after,
            before=before,
            limit=limit,
            order=order,
            not_found=lambda i: tool_not_found(tenant, i),
        )

    return [convert.tool(t) for t in await asyncio.to_thread(read)]


@router.patch("/agents/{agent_id}/tools/attach/{tool_id}", response_model=w.AgentState)
async def attach_tool(agent_id: str, tool_id: str, runtime: Runtime) -> w.AgentState:
    await asyncio.to_thread(runtime.store.attach_tool, runtime.tenant, agent_id, tool_id)
    return await agent_state(runtime, agent_id)


@router.patch("/agents/{agent_id}/tools/detach/{tool_id}", response_model=w.AgentState)
async def detach_tool(agent_id: str, tool_id: str, runtime: Runtime) -> w.AgentState:
    await asyncio.to_thread(runtime.store.detach_tool, runtime.tenant, agent_id, tool_id)
    return await agent_state(runtime, agent_id)
