"""Agents: `/v1/agents` (create, list, count, retrieve, update, delete), the context window overview,
and agent files (`GET /v1/agents/{id}/export`, `POST /v1/agents/import`).

Behaviour, following Letta's router where it says something:

- Lists are newest first by default (`order=desc`, `limit=50`), a bare JSON array paged by agent id
  (`after`/`before`, exclusive, in the listing order); the SDK's auto-pager stops on an empty page.
  `ascending` (deprecated in Letta) is ignored when `order` is given, which it always is by default.
- `system` in an agent's state is the text the agent speaks as: its rendered persona, else its own
  system prompt. Every agent is returned whole (blocks, tools, in-context message ids); Letta's
  `include` switch is accepted and ignored.
- `PATCH` checks a new persona binding (persona, pin, label, variables) before writing anything.
- Import takes Letta's form (multipart, the file in `file`) and, for scripts, a raw JSON body. Its
  options: `name` (or `override_name`), `model` (or `override_model_handle`), `embedding` (or
  `override_embedding_handle` / the `x-override-embedding-model` header), `append_copy_suffix`
  (default true, as in Letta: the name gets "_copy"), `override_existing_tools` (default true:
  custom tools of the same name are updated), `strip_messages`. A file that cannot be imported is a
  400 naming the problem, as Letta answers a corrupted file. See `server/agent_file.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.parser
import email.policy
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response

from llm_persona.agents import AgentRuntime
from llm_persona.agents.persona_binding import resolve_for
from llm_persona.agents.system_prompt import compile_system_prompt
from llm_persona.errors import LLMPersonaError
from llm_persona.server import agent_file, convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime
from llm_persona.store import AgentRecord, AgentState

router = APIRouter(prefix="/v1/agents", tags=["agents"])

#: The largest agent file `POST /v1/agents/import` reads.
MAX_AGENT_FILE_BYTES = 50 * 1024 * 1024

#: The fields of an agent's persona binding, checked together before an update writes them.
_BINDING = frozenset({"persona_name", "persona_version", "persona_label", "persona_vars"})

Order = Literal["asc", "desc"]
Tags = Annotated[list[str] | None, Query(description="Agents with any of these tags (all: match_all_tags).")]


class AgentImportResponse(w.WireModel):
    """`POST /v1/agents/import`: the ids of the agents created (Letta's `ImportedAgentsResponse`)."""

    agent_ids: list[str]


# --- helpers ----------------------------------------------------------------------------------------


def identity(runtime: AgentRuntime, agent: AgentRecord) -> str | None:
    """The rendered persona of a persona agent (None without a persona, or when it cannot be rendered
    now: the agent's next turn reports why)."""
    if agent.persona_name is None:
        return None
    try:
        served = resolve_for(runtime.store, agent)
    except LLMPersonaError:
        return None
    return served.text if served else None


def wire_state(runtime: AgentRuntime, state: AgentState) -> w.AgentState:
    agent = state.agent
    return convert.agent_state(
        agent,
        state.blocks,
        state.tools,
        system=identity(runtime, agent) or agent.system or "",
        message_ids=[m.id for m in state.messages],
    )


async def agent_state(runtime: AgentRuntime, agent_id: str) -> w.AgentState:
    """The agent as the API returns it, read in one snapshot."""

    def read() -> w.AgentState:
        return wire_state(runtime, runtime.store.load_agent_state(runtime.tenant, agent_id))

    return await asyncio.to_thread(read)


def _true(value: str, field: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise HTTPException(422, f"{field}: {value!r} is not a boolean; send true or false.")


async def _upload(request: Request) -> tuple[bytes, dict[str, str]]:
    """The agent file and the form fields of an import: multipart (Letta's form) or a JSON body."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_AGENT_FILE_BYTES:
            raise HTTPException(
                413, f"The upload is over {MAX_AGENT_FILE_BYTES} bytes, the limit for agent files."
            )
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        return bytes(body), {}
    if not kind.startswith("multipart/form-data"):
        raise HTTPException(
            415,
            "Upload the agent file as multipart/form-data (field 'file'), or send it as application/json.",
        )
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    data: bytes | None = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if name == "file":
            data = content
        elif isinstance(name, str):
            fields[name] = content.decode("utf-8", errors="replace")
            try:
                w.check_storable(fields[name], f"form field {name!r}")
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
    if data is None:
        raise HTTPException(422, "file: missing; upload the agent file in the form field 'file'.")
    return data, fields


# --- collection -------------------------------------------------------------------------------------


@router.post("/", response_model=w.AgentState)
async def create_agent(body: w.CreateAgent, runtime: Runtime) -> w.AgentState:
    agent = await runtime.create_agent(**body.runtime_kwargs(), embedding=body.embedding_handle())
    return await agent_state(runtime, agent.id)


@router.get("/", response_model=list[w.AgentState])
async def list_agents(
    runtime: Runtime,
    name: str | None = None,
    tags: Tags = None,
    match_all_tags: bool = False,
    query_text: Annotated[str | None, Query(description="Agents whose name contains this.")] = None,
    before: str | None = None,
    after: str | None = None,
    limit: Annotated[int | None, Query(ge=0, le=w.MAX_INT)] = 50,
    order: Order = "desc",
) -> list[w.AgentState]:
    def read() -> list[w.AgentState]:
        store, tenant = runtime.store, runtime.tenant
        agents = store.list_agents(
            tenant,
            name=name,
            tags=tags,
            match_all_tags=match_all_tags,
            query_text=query_text,
            after=after,
            before=before,
            limit=limit,
            order=order,
        )
        overviews = store.agent_overviews(tenant, [a.id for a in agents])  # deleted meanwhile: left out
        return [
            convert.agent_state(
                o.agent,
                o.blocks,
                o.tools,
                system=identity(runtime, o.agent) or o.agent.system or "",
                message_ids=o.message_ids,
            )
            for o in overviews
        ]

    return await asyncio.to_thread(read)


@router.get("/count", response_model=int)
async def count_agents(
    runtime: Runtime,
    name: str | None = None,
    tags: Tags = None,
    match_all_tags: bool = False,
    query_text: str | None = None,
) -> int:
    return await asyncio.to_thread(
        runtime.store.count_agents,
        runtime.tenant,
        name=name,
        tags=tags,
        match_all_tags=match_all_tags,
        query_text=query_text,
    )


@router.post("/import", response_model=AgentImportResponse)
async def import_agent(
    request: Request,
    runtime: Runtime,
    x_override_embedding_model: Annotated[str | None, Header()] = None,
) -> AgentImportResponse:
    data, form = await _upload(request)
    if x_override_embedding_model:
        form.setdefault("override_embedding_handle", x_override_embedding_model)
    parsed = await asyncio.to_thread(agent_file.parse, data)

    def flag(field: str, default: bool) -> bool:
        return _true(form[field], field) if field in form else default

    def handle(*fields: str) -> str | None:
        value = next((form[f] for f in fields if form.get(f)), None)
        try:
            return agent_file.check_handle(value)
        except ValueError as exc:
            raise HTTPException(422, f"{'/'.join(fields)}: {exc}.") from exc

    agent = await agent_file.import_file(
        runtime,
        parsed,
        name=form.get("name") or form.get("override_name") or None,
        model=handle("model", "override_model_handle"),
        embedding=handle("embedding", "override_embedding_handle"),
        append_copy_suffix=flag("append_copy_suffix", True),
        override_existing_tools=flag("override_existing_tools", True),
        strip_messages=flag("strip_messages", False),
    )
    return AgentImportResponse(agent_ids=[agent.id])


# --- one agent --------------------------------------------------------------------------------------


@router.get("/{agent_id}", response_model=w.AgentState)
async def retrieve_agent(agent_id: str, runtime: Runtime) -> w.AgentState:
    return await agent_state(runtime, agent_id)


@router.patch("/{agent_id}", response_model=w.AgentState)
async def update_agent(agent_id: str, body: w.UpdateAgent, runtime: Runtime) -> w.AgentState:
    def update() -> w.AgentState:
        store, tenant = runtime.store, runtime.tenant
        current = store.get_agent(tenant, agent_id)
        changes = body.changes(current.llm_config)
        binding = {k: v for k, v in changes.items() if k in _BINDING}
        if binding:
            runtime.check_persona(dataclasses.replace(current, **binding))
        store.update_agent(tenant, agent_id, **changes)
        return wire_state(runtime, store.load_agent_state(tenant, agent_id))

    return await asyncio.to_thread(update)


@router.delete("/{agent_id}")
async def delete_agent(agent_id: str, runtime: Runtime) -> dict[str, str]:
    await runtime.delete_agent(agent_id)
    return {"message": f"Agent id={agent_id} successfully deleted"}


@router.get("/{agent_id}/context", response_model=w.ContextWindowOverview)
async def context_window(agent_id: str, runtime: Runtime) -> w.ContextWindowOverview:
    """What fills the agent's context window now: the system prompt (the one its next turn would use),
    core memory, the summary, tool schemas and the messages in context, with token estimates."""

    def read() -> w.ContextWindowOverview:
        store, tenant = runtime.store, runtime.tenant
        state = store.load_agent_state(tenant, agent_id)
        agent = state.agent
        archival = store.count_passages(tenant, agent_id)
        recall = store.count_messages(tenant, agent_id)
        persona = identity(runtime, agent)
        system = agent.compiled_system
        if system is None or (persona is not None and not system.startswith(persona)):
            system = compile_system_prompt(
                identity=persona or agent.system,
                blocks=state.blocks,
                now=datetime.now(UTC),
                recall_count=agent.last_seq,
                archival_count=archival,
            ).text
        return convert.context_window(
            agent,
            state.blocks,
            state.tools,
            state.messages,
            archival_count=archival,
            recall_count=recall,
            system_prompt=system,
        )

    return await asyncio.to_thread(read)


@router.get("/{agent_id}/export")
async def export_agent(agent_id: str, runtime: Runtime, scrub_messages: bool = False) -> Response:
    """The agent as an agent file (indented JSON; the SDK's `export_file` returns it as text)."""
    document: dict[str, Any] = await asyncio.to_thread(
        agent_file.export, runtime, agent_id, scrub_messages=scrub_messages
    )
    return Response(json.dumps(document, indent=2), media_type="application/json")
