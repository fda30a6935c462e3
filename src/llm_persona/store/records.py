"""Plain records the store reads and writes: what the agent layer and the server hold.

No SQLAlchemy types here. Every record is a keyword-only dataclass whose defaults make a new,
valid record (a fresh id, timestamps now), so callers write `MessageRecord(role="user", content="hi")`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

DEFAULT_TENANT = "default"
DEFAULT_BLOCK_LIMIT = 20_000
DEFAULT_RETURN_CHAR_LIMIT = 6_000

Order = Literal["asc", "desc"]
Role = Literal["system", "user", "assistant", "tool", "summary"]
ToolStatus = Literal["success", "error"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool", "summary"})
TOOL_STATUSES: frozenset[str | None] = frozenset({"success", "error", None})


def new_id(prefix: str) -> str:
    """A new id like `agent-<uuid4>`."""
    return f"{prefix}-{uuid.uuid4()}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True, slots=True)
class AgentRecord:
    """A stateful agent: its configuration, its bound persona and where its history stands."""

    id: str = field(default_factory=lambda: new_id("agent"))
    tenant: str = DEFAULT_TENANT
    name: str
    description: str | None = None
    system: str | None = None  # a user-supplied system prompt override
    model: str  # handle, e.g. "openai/gpt-4o-mini"
    embedding: str | None = None  # embedding model handle
    persona_name: str | None = None
    persona_version: int | None = None  # a pin
    persona_label: str | None = None  # a label to follow
    persona_vars: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    llm_config: dict[str, Any] = field(default_factory=dict)
    #: The last compiled system prompt. The store returns None once it is stale: when an attached
    #: block was written, attached or detached after it was saved, or system/persona fields changed
    #: (for blocks other agents write meanwhile, see `block_versions` of Store.commit_step).
    compiled_system: str | None = None
    last_seq: int = 0  # seq of the newest message, 0 if none
    context_start_seq: int = 1  # messages with seq < this are out of the context window
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    block_ids: list[str] = field(default_factory=list)  # in prompt order
    tool_ids: list[str] = field(default_factory=list)  # in schema order


@dataclass(kw_only=True, slots=True)
class BlockRecord:
    """A core memory block; several agents may share one."""

    id: str = field(default_factory=lambda: new_id("block"))
    tenant: str = DEFAULT_TENANT
    label: str
    value: str = ""
    limit: int = DEFAULT_BLOCK_LIMIT  # characters
    description: str | None = None
    read_only: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = 1  # bumped on each write
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class MessageRecord:
    """One message of an agent's perpetual history; `seq` is assigned by `Store.commit_step`."""

    id: str = field(default_factory=lambda: new_id("message"))
    agent_id: str = ""
    seq: int = 0
    step_id: str | None = None
    role: Role
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name", "arguments"}]
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_status: ToolStatus | None = None
    reasoning: str | None = None
    otid: str | None = None  # the client's offline id, echoed back
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class StepRecord:
    """One model call of an agent: usage, timing and the persona version that produced it."""

    id: str = field(default_factory=lambda: new_id("step"))
    agent_id: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    latency_ms: float = 0.0
    stop_reason: str | None = None
    persona_name: str | None = None
    persona_version: int | None = None
    persona_fingerprint: str | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class ToolRecord:
    """A tool agents can call, by its JSON schema."""

    id: str = field(default_factory=lambda: new_id("tool"))
    tenant: str = DEFAULT_TENANT
    name: str
    description: str | None = None
    source_code: str | None = None
    json_schema: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    tool_type: str = "custom"  # "custom", "memory", ...
    return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class PassageRecord:
    """A passage of an agent's archival memory."""

    id: str = field(default_factory=lambda: new_id("passage"))
    tenant: str = DEFAULT_TENANT
    agent_id: str = ""
    text: str
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    embedding: list[float] | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class PersonaVersionRecord:
    """A persona version as recorded in the database: the resolved persona as JSON."""

    tenant: str = DEFAULT_TENANT
    name: str
    number: int
    fingerprint: str
    content: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, slots=True)
class AgentState:
    """What one agent step needs, read in one transaction: the agent, its blocks, tools and context."""

    agent: AgentRecord
    blocks: list[BlockRecord]  # in prompt order
    tools: list[ToolRecord]  # in schema order
    messages: list[MessageRecord]  # in context: seq >= agent.context_start_seq, oldest first
