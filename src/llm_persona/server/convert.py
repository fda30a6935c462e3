"""From the runtime's records and events to wire models (and the one way back a route needs: a
tool create body to a `ToolRecord`).

Letta's message semantics, followed here (`letta/schemas/message.py`, `to_letta_messages`, for a
letta_v1_agent):

- One stored message becomes one or more Letta messages that all carry the stored message's `id`,
  told apart by `message_type` and `otid`. An assistant message becomes, in this order, a
  `ReasoningMessage` (if the model reasoned), an `AssistantMessage` (its text, if any) and ONE
  `ToolCallMessage` holding every tool call in `tool_calls` (and the first in `tool_call`).
- Their `otid`s are derived from the id and the part's position (Letta's scheme: the uuid's low 7
  bits replaced by the index), so the same stored message always yields the same otids. User and
  system messages keep the client's own otid.
- A tool result becomes a `ToolReturnMessage`: `tool_return` is the tool's message (unpacked from
  the `{"status", "message"}` envelope the model saw), `status` "success" or "error".
- A summary of older messages is a `UserMessage` holding the summary (Letta's default), or a
  `SummaryMessage` when the request sets `include_compaction_messages`. Streams always use the
  `UserMessage` form: the SDK's stream union has no summary message.
- Responses and streams leave out the user's own input messages, as Letta does; the message list
  (`GET .../messages`) has them all.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast, get_args

from llm_persona import __version__
from llm_persona.agents import events as ev
from llm_persona.agents.context import DEFAULT_CONTEXT_WINDOW, estimate_tokens, message_tokens
from llm_persona.agents.memory import compile_blocks
from llm_persona.llm.types import ModelSettings, Usage
from llm_persona.server import schemas as w
from llm_persona.server.schemas.agents import ModelEndpointType
from llm_persona.server.schemas.common import STOP_REASONS, TOOL_TYPES, StopReasonType, ToolType
from llm_persona.server.schemas.passages import EmbeddingEndpointType
from llm_persona.store.records import (
    AgentRecord,
    BlockRecord,
    MessageRecord,
    PassageRecord,
    PersonaVersionRecord,
    ToolRecord,
)

if TYPE_CHECKING:
    from llm_persona.agents.runtime import DriftEntry
    from llm_persona.personas.diff import PersonaDiff

__all__ = [
    "agent_state",
    "block",
    "context_window",
    "derived_otid",
    "drift_entry",
    "embedding_config",
    "health",
    "letta_messages",
    "letta_messages_from_list",
    "letta_response",
    "llm_config",
    "passage",
    "passage_search",
    "persona_diff",
    "persona_summary",
    "persona_version",
    "sse_events",
    "stop_reason",
    "stream_chunks",
    "tool",
    "tool_record",
    "usage",
]

_ENDPOINT_TYPES = frozenset(get_args(ModelEndpointType))
_EMBEDDING_ENDPOINT_TYPES = frozenset(get_args(EmbeddingEndpointType))
_EMBEDDING_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
#: Built-in tools Letta files under `letta_core`; the other built-ins edit memory (`letta_memory_core`).
_CORE_TOOLS = frozenset(
    {"conversation_search", "archival_memory_insert", "archival_memory_search", "send_message"}
)


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- agents -----------------------------------------------------------------------------------------


def agent_state(
    agent: AgentRecord,
    blocks: Sequence[BlockRecord],
    tools: Sequence[ToolRecord],
    *,
    system: str | None = None,
    message_ids: Sequence[str] = (),
) -> w.AgentState:
    """The agent as Letta returns it. `system` is the agent's system prompt without memory (for a
    persona agent: the rendered persona); default `agent.system`. `message_ids`: the ids of the
    messages in context, oldest first."""
    wire_blocks = [block(b) for b in blocks]
    return w.AgentState(
        id=agent.id,
        name=agent.name,
        system=system if system is not None else agent.system or "",
        description=agent.description,
        model=agent.model,
        embedding=agent.embedding,
        llm_config=llm_config(agent),
        embedding_config=embedding_config(agent.embedding),
        blocks=wire_blocks,
        memory=w.Memory(blocks=wire_blocks),
        tools=[tool(t) for t in tools],
        tags=list(agent.tags),
        metadata=dict(agent.metadata),
        message_ids=list(message_ids),
        created_at=_utc(agent.created_at),
        updated_at=_utc(agent.updated_at),
        persona=agent.persona_name,
        persona_version=agent.persona_version,
        persona_label=agent.persona_label,
        persona_vars=dict(agent.persona_vars),
    )


#: The timeout and retries an agent's model calls get when its `llm_config` sets none.
_MODEL_DEFAULTS = ModelSettings()


def llm_config(agent: AgentRecord) -> w.LlmConfig:
    """Letta's `llm_config` for the agent's model handle and settings. Providers Letta does not
    name (our `openai/...` handle also covers OpenAI-compatible servers) show as "openai"; `timeout`
    and `max_retries` (ours) show what the agent's model calls get, set or default."""
    provider, _, model = agent.model.partition("/")
    settings = agent.llm_config
    return w.LlmConfig(
        model=model or agent.model,
        model_endpoint_type=cast(ModelEndpointType, provider if provider in _ENDPOINT_TYPES else "openai"),
        context_window=int(settings.get("context_window") or DEFAULT_CONTEXT_WINDOW),
        handle=agent.model,
        provider_name=provider or None,
        temperature=settings.get("temperature"),
        max_tokens=settings.get("max_tokens"),
        parallel_tool_calls=settings.get("parallel_tool_calls"),
        timeout=settings.get("timeout", _MODEL_DEFAULTS.timeout),
        max_retries=settings.get("max_retries", _MODEL_DEFAULTS.max_retries),
    )


def embedding_config(handle: str | None) -> w.EmbeddingConfig | None:
    """Letta's `embedding_config` for an embedding handle; `embedding_dim` 0 when not known."""
    if handle is None:
        return None
    provider, _, model = handle.partition("/")
    return w.EmbeddingConfig(
        embedding_endpoint_type=cast(
            EmbeddingEndpointType, provider if provider in _EMBEDDING_ENDPOINT_TYPES else "openai"
        ),
        embedding_model=model or handle,
        embedding_dim=_EMBEDDING_DIMS.get(model, 0),
        handle=handle,
    )


def block(record: BlockRecord) -> w.Block:
    return w.Block(
        id=record.id,
        label=record.label,
        value=record.value,
        limit=record.limit,
        description=record.description,
        read_only=record.read_only,
        metadata=dict(record.metadata),
    )


def tool(record: ToolRecord) -> w.Tool:
    schema = record.json_schema or {
        "name": record.name,
        "description": record.description or "",
        "parameters": {"type": "object", "properties": {}, "required": []},
    }
    return w.Tool(
        id=record.id,
        name=record.name,
        description=record.description,
        tool_type=_tool_type(record),
        json_schema=dict(schema),
        source_code=record.source_code,
        source_type="python" if record.source_code else None,
        tags=list(record.tags),
        return_char_limit=record.return_char_limit,
    )


def _tool_type(record: ToolRecord) -> ToolType:
    if record.tool_type == "memory":
        return "letta_core" if record.name in _CORE_TOOLS else "letta_memory_core"
    return cast(ToolType, record.tool_type) if record.tool_type in TOOL_TYPES else "custom"


def tool_record(body: w.CreateTool) -> ToolRecord:
    """A custom tool from a create (or upsert) body."""
    schema = body.tool_schema()
    return ToolRecord(
        name=schema["name"],
        description=schema.get("description") or body.description,
        source_code=body.source_code,
        json_schema=schema,
        tags=list(body.tags or ()),
        tool_type="custom",
        return_char_limit=body.return_char_limit,
    )


def passage(record: PassageRecord, *, embedding: str | None = None) -> w.Passage:
    """`embedding`: the agent's embedding handle, for the passage's `embedding_config`."""
    created = _utc(record.created_at)
    return w.Passage(
        id=record.id,
        text=record.text,
        created_at=created,
        updated_at=created,
        tags=list(record.tags),
        metadata=dict(record.metadata),
        embedding=record.embedding,
        embedding_config=embedding_config(embedding),
    )


def passage_search(records: Sequence[PassageRecord]) -> w.PassageSearchResponse:
    results = [
        w.PassageSearchResult(
            id=p.id, content=p.text, timestamp=_utc(p.created_at).isoformat(), tags=list(p.tags)
        )
        for p in records
    ]
    return w.PassageSearchResponse(count=len(results), results=results)


def health() -> w.Health:
    return w.Health(status="ok", version=__version__)


# --- messages ---------------------------------------------------------------------------------------


def derived_otid(message_id: str, index: int) -> str:
    """The otid of part `index` of a stored message (Letta's scheme: the low 7 bits of the id's
    uuid set to the index). Ids that are not `message-<uuid>` get `<id>-<index>`."""
    if not 0 <= index < 128:
        raise ValueError(f"A message has at most 128 parts; index {index} is out of range.")
    try:
        value = uuid.UUID(message_id.removeprefix("message-")).int
    except ValueError:
        return f"{message_id}-{index}"
    return str(uuid.UUID(int=(value & ~0x7F) | index))


def letta_messages(record: MessageRecord, *, summaries_as_user: bool = True) -> list[w.LettaMessage]:
    """The Letta messages one stored message becomes (see the module docstring)."""
    common: dict[str, Any] = {"id": record.id, "date": _utc(record.created_at), "step_id": record.step_id}
    text = record.content or ""
    if record.role == "user":
        return [w.UserMessage(content=text, otid=record.otid or derived_otid(record.id, 0), **common)]
    if record.role == "system":
        return [w.SystemMessage(content=text, otid=record.otid or derived_otid(record.id, 0), **common)]
    if record.role == "summary":
        otid = derived_otid(record.id, 0)
        if summaries_as_user:
            return [w.UserMessage(content=text, otid=otid, **common)]
        return [w.SummaryMessage(summary=text, otid=otid, **common)]
    if record.role == "tool":
        return [_tool_return(record, common)]
    out: list[w.LettaMessage] = []
    if record.reasoning:
        out.append(
            w.ReasoningMessage(
                reasoning=record.reasoning,
                source="reasoner_model",
                otid=derived_otid(record.id, len(out)),
                **common,
            )
        )
    if record.content:
        out.append(
            w.AssistantMessage(content=record.content, otid=derived_otid(record.id, len(out)), **common)
        )
    if record.tool_calls:
        calls = [
            w.ToolCall(name=c["name"], arguments=c.get("arguments") or "", tool_call_id=c["id"])
            for c in record.tool_calls
        ]
        out.append(
            w.ToolCallMessage(
                tool_call=calls[0], tool_calls=calls, otid=derived_otid(record.id, len(out)), **common
            )
        )
    return out


def _tool_return(record: MessageRecord, common: dict[str, Any]) -> w.ToolReturnMessage:
    text = record.content or ""
    status = record.tool_status
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError:
        envelope = None
    if isinstance(envelope, dict) and "message" in envelope:
        message = envelope["message"]
        text = message if isinstance(message, str) else json.dumps(message)
        if status is None:
            status = "error" if envelope.get("status") == "Failed" else "success"
    result = w.ToolReturn(
        tool_call_id=record.tool_call_id or "", status=status or "success", tool_return=text
    )
    return w.ToolReturnMessage(
        tool_call_id=result.tool_call_id,
        status=result.status,
        tool_return=text,
        tool_returns=[result],
        name=record.tool_name,
        otid=derived_otid(record.id, 0),
        **common,
    )


def letta_messages_from_list(
    records: Sequence[MessageRecord],
    *,
    reverse: bool = False,
    summaries_as_user: bool = True,
    types: Collection[str] | None = None,
) -> list[w.LettaMessage]:
    """Letta messages for stored messages in listing order. `reverse` (for `order=desc`) also
    reverses the parts of each message, as Letta does; `types` keeps only those message types."""
    out: list[w.LettaMessage] = []
    for record in records:
        parts = letta_messages(record, summaries_as_user=summaries_as_user)
        out.extend(reversed(parts) if reverse else parts)
    return out if types is None else [m for m in out if m.message_type in types]


def stop_reason(reason: str) -> w.LettaStopReason:
    """A turn's stop reason; anything Letta has no word for is "error"."""
    return w.LettaStopReason(stop_reason=cast(StopReasonType, reason) if reason in STOP_REASONS else "error")


def usage(used: Usage, step_count: int, *, context_tokens: int | None = None) -> w.LettaUsageStatistics:
    return w.LettaUsageStatistics(
        completion_tokens=used.output_tokens,
        prompt_tokens=used.input_tokens,
        total_tokens=used.total_tokens,
        step_count=step_count,
        cached_input_tokens=used.cached_input_tokens,
        context_tokens=context_tokens,
    )


def letta_response(
    result: ev.TurnResult,
    *,
    include_compaction_messages: bool = False,
    types: Collection[str] | None = None,
) -> w.LettaResponse:
    """The JSON answer to a turn: the messages it added (not the user's input)."""
    added = [m for m in result.messages if m.role != "user"]
    return w.LettaResponse(
        messages=letta_messages_from_list(
            added, summaries_as_user=not include_compaction_messages, types=types
        ),
        stop_reason=stop_reason(result.stop_reason),
        usage=usage(result.usage, result.step_count),
    )


# --- streaming --------------------------------------------------------------------------------------


def stream_chunks(
    event: ev.TurnEvent, *, stream_tokens: bool = False, types: Collection[str] | None = None
) -> list[w.LettaStreamingChunk]:
    """The SSE `data:` chunks for one turn event.

    Token pieces become `AssistantMessage` / `ToolCallMessage` chunks with the id of the message
    they will be committed as (text pieces share otid part 0, tool call pieces part 1). With
    `stream_tokens` a committed assistant message is not sent again, except its reasoning (which
    is not streamed in pieces). User input is not echoed. The turn's end is the stop reason, then
    the usage.
    """
    chunks: list[w.LettaStreamingChunk]
    now = datetime.now(UTC)
    if isinstance(event, ev.TextDelta):
        chunks = [
            w.AssistantMessage(
                id=event.message_id, date=now, content=event.text, otid=derived_otid(event.message_id, 0)
            )
        ]
    elif isinstance(event, ev.ToolCallDelta):
        delta = w.ToolCallDelta(name=event.name, arguments=event.arguments, tool_call_id=event.tool_call_id)
        chunks = [
            w.ToolCallMessage(
                id=event.message_id,
                date=now,
                tool_call=delta,
                tool_calls=delta,
                otid=derived_otid(event.message_id, 1),
            )
        ]
    elif isinstance(event, ev.MessageCommitted):
        record = event.message
        if record.role == "user":
            return []
        parts = letta_messages(record, summaries_as_user=True)
        if stream_tokens and record.role == "assistant":
            parts = [p for p in parts if isinstance(p, w.ReasoningMessage)]
        chunks = [p for p in parts if not isinstance(p, w.SummaryMessage)]
    else:
        return [stop_reason(event.stop_reason), usage(event.usage, event.step_count)]
    return chunks if types is None else [c for c in chunks if c.message_type in types]


def sse_events(
    event: ev.TurnEvent,
    *,
    run_id: str,
    stream_tokens: bool = False,
    types: Collection[str] | None = None,
) -> list[str]:
    """`stream_chunks` as SSE text. A turn that ended in an error sends its stop reason and then an
    `event: error` (the SDK raises it) instead of the usage, as Letta does. Finish with `SSE_DONE`."""
    if isinstance(event, ev.TurnEnded) and event.error is not None:
        error = w.LettaErrorMessage(
            run_id=run_id, error_type=event.stop_reason, message=event.error, detail=event.error
        )
        return [w.sse_data(stop_reason(event.stop_reason)), w.sse_error(error)]
    return [w.sse_data(c) for c in stream_chunks(event, stream_tokens=stream_tokens, types=types)]


# --- context window ---------------------------------------------------------------------------------

_METADATA = re.compile(r"<memory_metadata>.*?</memory_metadata>", re.DOTALL)


def context_window(
    agent: AgentRecord,
    blocks: Sequence[BlockRecord],
    tools: Sequence[ToolRecord],
    messages: Sequence[MessageRecord],
    *,
    archival_count: int,
    recall_count: int,
    system_prompt: str | None = None,
) -> w.ContextWindowOverview:
    """What fills the agent's context window. `messages`: those in context, oldest first;
    `system_prompt`: the compiled prompt (default: the agent's last compiled one). Token counts
    are the runtime's estimate (about four characters a token)."""
    system = system_prompt if system_prompt is not None else agent.compiled_system or ""
    core = compile_blocks(list(blocks))
    metadata_match = _METADATA.search(system)
    metadata = metadata_match.group(0) if metadata_match else ""
    summaries = [m for m in messages if m.role == "summary"]
    summary = summaries[-1].content if summaries else None
    shown = [m for m in messages if m.role != "summary"]
    functions = [{"type": "function", "function": tool(t).json_schema} for t in tools]

    core_tokens = estimate_tokens(core) if core in system else 0
    metadata_tokens = estimate_tokens(metadata) if metadata else 0
    system_tokens = max(estimate_tokens(system) - core_tokens - metadata_tokens, 0)
    summary_tokens = estimate_tokens(summary) if summary else 0
    function_tokens = estimate_tokens(json.dumps(functions)) if functions else 0
    message_token_count = sum(message_tokens(m) for m in shown)
    return w.ContextWindowOverview(
        context_window_size_max=int(agent.llm_config.get("context_window") or DEFAULT_CONTEXT_WINDOW),
        context_window_size_current=(
            system_tokens
            + core_tokens
            + metadata_tokens
            + summary_tokens
            + function_tokens
            + message_token_count
        ),
        num_messages=len(messages),
        num_archival_memory=archival_count,
        num_recall_memory=recall_count,
        num_tokens_external_memory_summary=metadata_tokens,
        external_memory_summary=metadata,
        num_tokens_system=system_tokens,
        system_prompt=system,
        num_tokens_core_memory=core_tokens,
        core_memory=core,
        num_tokens_summary_memory=summary_tokens,
        summary_memory=summary,
        num_tokens_functions_definitions=function_tokens,
        functions_definitions=functions,
        num_tokens_messages=message_token_count,
        messages=letta_messages_from_list(shown),
    )


# --- personas ---------------------------------------------------------------------------------------


def persona_version(record: PersonaVersionRecord, labels: Mapping[str, int]) -> w.PersonaVersion:
    """`labels`: label -> version number, for the persona (as `Store.persona_labels` returns)."""
    return w.PersonaVersion(
        name=record.name,
        version=record.number,
        fingerprint=record.fingerprint,
        created_at=_utc(record.created_at),
        labels=sorted(label for label, number in labels.items() if number == record.number),
        content=dict(record.content),
    )


def persona_summary(
    name: str, versions: Sequence[PersonaVersionRecord], labels: Mapping[str, int]
) -> w.PersonaSummary:
    return w.PersonaSummary(
        name=name,
        latest_version=max((v.number for v in versions), default=0),
        version_count=len(versions),
        labels=dict(labels),
    )


def persona_diff(diff: PersonaDiff) -> w.PersonaDiff:
    return w.PersonaDiff(
        name=diff.name,
        old=diff.old,
        new=diff.new,
        changes=[w.FieldChange(field=c.field, before=c.before, after=c.after) for c in diff.changes],
        prompt_diff=diff.prompt_diff,
    )


def drift_entry(entry: DriftEntry) -> w.DriftEntry:
    return w.DriftEntry(
        agent_id=entry.agent_id,
        agent_name=entry.agent_name,
        persona=entry.persona,
        served_version=entry.served_version,
        current_version=entry.current_version,
        follows=entry.follows,
    )
