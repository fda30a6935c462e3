"""Agent files (`.af`): one agent as JSON, to export from one server and import into another.

    {
      "format": "llm-persona/agent-file", "version": 1, "created_at": "...",
      "agents": [{"id": "agent-0", "name": ..., "model": ..., "persona": ..., "persona_vars": {...},
                  "block_ids": ["block-0"], "tool_ids": ["tool-0"],
                  "messages": [{"id": "message-0", "role": "user", "content": ...}, ...],
                  "in_context_message_ids": ["message-0", ...]}],
      "blocks": [{"id": "block-0", "label": "human", "value": ..., "limit": ...}],
      "tools": [{"id": "tool-0", "name": ..., "tool_type": "custom", "source_code": ..., ...}]
    }

The layout follows Letta's agent file (agents, blocks and tools side by side, referenced by ids that
only mean something inside the file). Built-in memory tools travel by name; custom tools carry their
source code. A persona agent travels with its binding (name, pin or label, variables), not with the
persona itself: the importing server must know the persona. Importing makes new ids for everything;
messages keep their order, content and timestamps, and the context window starts where it did.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llm_persona.agents import AgentRuntime
from llm_persona.agents.tools.builtin import BUILTIN_TOOLS
from llm_persona.errors import AgentError
from llm_persona.server.schemas.agents import typed_settings
from llm_persona.server.schemas.common import MAX_INT, UTCDatetime, check_storable
from llm_persona.server.schemas.tools import schema_from_source
from llm_persona.store import DEFAULT_BLOCK_LIMIT, AgentRecord, MessageRecord, ToolRecord, new_id
from llm_persona.store.records import DEFAULT_RETURN_CHAR_LIMIT

FORMAT = "llm-persona/agent-file"
VERSION = 1


class AgentFileError(AgentError):
    """The uploaded agent file cannot be imported (a 400, as Letta answers a corrupted file)."""


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())


class FileBlock(_FileModel):
    id: str
    label: str = Field(min_length=1)
    value: str = ""
    limit: int = Field(default=DEFAULT_BLOCK_LIMIT, gt=0, le=MAX_INT)
    description: str | None = None
    read_only: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fits(self) -> FileBlock:
        if len(self.value) > self.limit:
            raise ValueError(
                f"block {self.label!r} holds {len(self.value)} characters, over its limit {self.limit}"
            )
        return self


class FileTool(_FileModel):
    id: str
    name: str = Field(min_length=1)
    tool_type: str = "custom"
    description: str | None = None
    source_code: str | None = None
    json_schema: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    return_char_limit: int = Field(default=DEFAULT_RETURN_CHAR_LIMIT, gt=0, le=MAX_INT)

    @property
    def builtin(self) -> bool:
        return self.tool_type != "custom" and self.name in BUILTIN_TOOLS

    @model_validator(mode="after")
    def _has_a_schema(self) -> FileTool:
        if self.tool_type == "custom" and self.name in BUILTIN_TOOLS:
            raise ValueError(f"tool {self.name!r} is a built-in tool's name; rename the custom tool")
        if self.builtin or self.json_schema:
            return self
        if not self.source_code:
            raise ValueError(f"tool {self.name!r} is not built in and has no source_code or json_schema")
        self.json_schema = schema_from_source(self.source_code)  # a ValueError for a bad source
        return self


class FileToolCall(_FileModel):
    id: str
    name: str
    arguments: str = ""


class FileMessage(_FileModel):
    id: str
    role: Literal["system", "user", "assistant", "tool", "summary"]
    content: str | None = None
    tool_calls: list[FileToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_status: Literal["success", "error"] | None = None
    reasoning: str | None = None
    otid: str | None = None
    created_at: UTCDatetime = Field(default_factory=lambda: datetime.now(UTC))


class FileAgent(_FileModel):
    id: str
    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    description: str | None = None
    system: str | None = None
    embedding: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    llm_config: dict[str, Any] = Field(default_factory=dict)
    persona: str | None = None
    persona_version: int | None = Field(default=None, ge=1, le=MAX_INT)
    persona_label: str | None = None
    persona_vars: dict[str, Any] = Field(default_factory=dict)
    block_ids: list[str] = Field(default_factory=list)
    tool_ids: list[str] = Field(default_factory=list)
    messages: list[FileMessage] = Field(default_factory=list)
    in_context_message_ids: list[str] | None = None  # None: every message is in context

    @field_validator("model", "embedding")
    @classmethod
    def _handle(cls, handle: str | None) -> str | None:
        return check_handle(handle)

    @field_validator("llm_config")
    @classmethod
    def _settings_typed(cls, config: dict[str, Any]) -> dict[str, Any]:
        return typed_settings(config)

    @model_validator(mode="after")
    def _one_binding(self) -> FileAgent:
        if self.persona_version is not None and self.persona_label is not None:
            raise ValueError("give persona_version or persona_label, not both")
        if self.persona is None and (self.persona_version is not None or self.persona_label is not None):
            raise ValueError("persona_version / persona_label need persona")
        return self


class AgentFile(_FileModel):
    format: Literal["llm-persona/agent-file"]
    version: Literal[1]
    created_at: datetime | None = None
    agents: list[FileAgent]
    blocks: list[FileBlock] = Field(default_factory=list)
    tools: list[FileTool] = Field(default_factory=list)

    @field_validator("agents")
    @classmethod
    def _one_agent(cls, agents: list[FileAgent]) -> list[FileAgent]:
        if len(agents) != 1:
            raise ValueError(f"holds {len(agents)} agents; this server imports one agent per file")
        return agents

    @model_validator(mode="after")
    def _references_resolve(self) -> AgentFile:
        agent = self.agents[0]
        blocks = {b.id: b for b in self.blocks}
        tools = {t.id for t in self.tools}
        messages = {m.id for m in agent.messages}
        for kind, wanted, known in (
            ("block_ids", agent.block_ids, blocks),
            ("tool_ids", agent.tool_ids, tools),
            ("in_context_message_ids", agent.in_context_message_ids or [], messages),
        ):
            missing = [i for i in wanted if i not in known]
            if missing:
                raise ValueError(f"agents[0].{kind} names {missing}, which the file does not hold")
        labels = [blocks[i].label for i in agent.block_ids]
        if len(labels) != len(set(labels)):
            raise ValueError(f"agents[0] has two blocks with one label: {sorted(labels)}")
        return self


def check_handle(handle: str | None) -> str | None:
    """`handle` if it reads 'provider/model', else a ValueError saying so."""
    if handle is not None and not all(handle.partition("/")[::2]):
        raise ValueError(f"{handle!r} is not a 'provider/model' handle, e.g. 'openai/gpt-4o-mini'")
    return handle


def parse(data: bytes) -> AgentFile:
    """The agent file in `data`, or AgentFileError saying what is wrong with it."""
    try:
        raw = json.loads(data)
        if isinstance(raw, str):  # encoded twice
            raw = json.loads(raw)
    except ValueError as exc:  # not JSON, not UTF-8, or a number too long to read
        raise AgentFileError(
            f"The agent file is not JSON ({exc}); upload a file made by GET .../export."
        ) from exc
    except RecursionError as exc:
        raise AgentFileError(
            "The agent file nests objects and arrays too deeply to read; upload a file made by GET .../export."
        ) from exc
    try:
        check_storable(raw)
    except ValueError as exc:
        raise AgentFileError(f"The agent file cannot be imported: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise AgentFileError(
            f'This is not an llm-persona agent file: it needs "format": "{FORMAT}". '
            "Export the agent with GET /v1/agents/{agent_id}/export (client.agents.export_file)."
        )
    try:
        return AgentFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise AgentFileError(f"The agent file has problems: {problems}.") from exc


def export(runtime: AgentRuntime, agent_id: str, *, scrub_messages: bool = False) -> dict[str, Any]:
    """The agent as an agent file (JSON-ready); `scrub_messages` leaves its history out."""
    state = runtime.store.load_agent_state(runtime.tenant, agent_id)
    history = [] if scrub_messages else runtime.store.list_messages(runtime.tenant, agent_id)
    agent = state.agent
    block_ids = {b.id: f"block-{i}" for i, b in enumerate(state.blocks)}
    tool_ids = {t.id: f"tool-{i}" for i, t in enumerate(state.tools)}
    message_ids = {m.id: f"message-{i}" for i, m in enumerate(history)}
    messages = [
        {
            "id": message_ids[m.id],
            "role": m.role,
            "content": m.content,
            "tool_calls": m.tool_calls,
            "tool_call_id": m.tool_call_id,
            "tool_name": m.tool_name,
            "tool_status": m.tool_status,
            "reasoning": m.reasoning,
            "otid": m.otid,
            "created_at": _utc(m.created_at).isoformat(),
        }
        for m in history
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "agents": [
            {
                "id": "agent-0",
                "name": agent.name,
                "model": agent.model,
                "description": agent.description,
                "system": agent.system,
                "embedding": agent.embedding,
                "tags": agent.tags,
                "metadata": agent.metadata,
                "llm_config": agent.llm_config,
                "persona": agent.persona_name,
                "persona_version": agent.persona_version,
                "persona_label": agent.persona_label,
                "persona_vars": agent.persona_vars,
                "block_ids": list(block_ids.values()),
                "tool_ids": list(tool_ids.values()),
                "messages": messages,
                "in_context_message_ids": [message_ids[m.id] for m in state.messages if m.id in message_ids],
            }
        ],
        "blocks": [
            {
                "id": block_ids[b.id],
                "label": b.label,
                "value": b.value,
                "limit": b.limit,
                "description": b.description,
                "read_only": b.read_only,
                "metadata": b.metadata,
            }
            for b in state.blocks
        ],
        "tools": [
            {
                "id": tool_ids[t.id],
                "name": t.name,
                "tool_type": t.tool_type,
                "description": t.description,
                "source_code": t.source_code,
                "json_schema": t.json_schema,
                "tags": t.tags,
                "return_char_limit": t.return_char_limit,
            }
            for t in state.tools
        ],
    }


async def import_file(
    runtime: AgentRuntime,
    file: AgentFile,
    *,
    name: str | None = None,
    model: str | None = None,
    embedding: str | None = None,
    append_copy_suffix: bool = True,
    override_existing_tools: bool = True,
    strip_messages: bool = False,
) -> AgentRecord:
    """Create a new agent from `file` (new ids throughout). The persona binding is checked before
    anything is written; custom tools are created, or updated by name when `override_existing_tools`."""
    spec = file.agents[0]
    blocks = {b.id: b for b in file.blocks}
    tools = {t.id: t for t in file.tools}
    attached = [tools[i] for i in spec.tool_ids]
    binding = AgentRecord(
        name=spec.name,
        model=spec.model,
        persona_name=spec.persona,
        persona_version=spec.persona_version,
        persona_label=spec.persona_label,
        persona_vars=dict(spec.persona_vars),
    )
    await asyncio.to_thread(runtime.check_persona, binding)
    custom_ids = [
        await asyncio.to_thread(_custom_tool, runtime, t, override_existing_tools)
        for t in attached
        if not t.builtin
    ]
    agent = await runtime.create_agent(
        name=name or (f"{spec.name}_copy" if append_copy_suffix else spec.name),
        persona=spec.persona,
        persona_version=spec.persona_version,
        persona_label=spec.persona_label,
        persona_vars=spec.persona_vars,
        memory_blocks=[blocks[i].model_dump(exclude={"id"}) for i in spec.block_ids],
        tools=[t.name for t in attached if t.builtin],
        tool_ids=custom_ids,
        include_base_tools=False,
        model=model or spec.model,
        embedding=embedding or spec.embedding,
        system=spec.system,
        description=spec.description,
        tags=spec.tags,
        metadata=spec.metadata,
        llm_config=spec.llm_config,
    )
    if spec.messages and not strip_messages:
        try:
            await asyncio.to_thread(_write_history, runtime, agent.id, spec)
        except BaseException:
            await runtime.delete_agent(agent.id)
            raise
    return agent


def _custom_tool(runtime: AgentRuntime, tool: FileTool, override: bool) -> str:
    store, tenant = runtime.store, runtime.tenant
    if not override:
        try:
            return store.get_tool_by_name(tenant, tool.name).id
        except LookupError:
            pass
    record = ToolRecord(
        name=tool.name,
        description=tool.description,
        source_code=tool.source_code,
        json_schema=tool.json_schema,
        tags=tool.tags,
        tool_type="custom",
        return_char_limit=tool.return_char_limit,
    )
    return store.upsert_tool(tenant, record).id


def _write_history(runtime: AgentRuntime, agent_id: str, spec: FileAgent) -> None:
    records = [
        MessageRecord(
            id=new_id("message"),
            role=m.role,
            content=m.content,
            tool_calls=[c.model_dump() for c in m.tool_calls],
            tool_call_id=m.tool_call_id,
            tool_name=m.tool_name,
            tool_status=m.tool_status,
            reasoning=m.reasoning,
            otid=m.otid,
            created_at=m.created_at,
        )
        for m in spec.messages
    ]
    positions = {m.id: i for i, m in enumerate(spec.messages)}
    in_context = spec.in_context_message_ids
    start = 0 if in_context is None else min((positions[i] for i in in_context), default=len(records))
    with runtime.store.agent_lock(agent_id):
        runtime.store.commit_step(
            runtime.tenant,
            agent_id,
            expected_last_seq=0,
            step=None,
            messages=records,
            agent_changes={"context_start_seq": start + 1},
        )


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
