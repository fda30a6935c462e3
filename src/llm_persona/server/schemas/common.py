"""What every wire model shares: the response and request bases, Letta's enumerations, health.

Lists. Every list endpoint the SDK pages (`client.agents.list()`, `agents.messages.list()`,
`agents.blocks.list()`, `agents.tools.list()`, `blocks.list()`, `tools.list()`) returns a BARE JSON
ARRAY of items, as Letta does. The SDK wraps it in `SyncArrayPage` (`{"items": [...]}` is accepted
too, but Letta does not send it). Auto-paging (`for agent in client.agents.list():`) asks for the
next page with `?after=<id of the last item>` (or `?before=<id of the first item>` when paging
backwards) and stops only when a page comes back EMPTY: a list route must honour `after`/`before`
(exclusive cursors, in the listing order) or the SDK loops forever. Messages are paged by stored
message: several Letta messages may share an id (see `convert.letta_messages`), and `after=<that id>`
continues after all of them; `limit` counts stored messages, so a page may hold more items. Letta's
message list defaults to `order=desc, limit=100`, and in `desc` order the parts of each stored
message come reversed too (`convert.letta_messages_from_list(..., reverse=True)`).
Archival memory (`agents.passages.list()`) is typed as a plain `List[Passage]`, not a page: the same
bare array, but the SDK does not auto-page it. Query arrays arrive repeated (`?tags=a&tags=b`).

Strictness. List pages are built by the SDK without validation; every other response body is
validated against the SDK's pydantic models when the client is made with
`_strict_response_validation=True`, so the models here keep each required field present and each
literal exact. Fields we do not support are None (or an empty list where Letta always has a list).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

#: Why a turn stopped (Letta's `StopReasonType`).
StopReasonType: TypeAlias = Literal[
    "end_turn",
    "error",
    "llm_api_error",
    "invalid_llm_response",
    "invalid_tool_call",
    "max_steps",
    "max_tokens_exceeded",
    "no_tool_call",
    "tool_rule",
    "cancelled",
    "insufficient_credits",
    "requires_approval",
    "context_window_overflow_in_system_prompt",
]
STOP_REASONS: frozenset[str] = frozenset(get_args(StopReasonType))

AgentType: TypeAlias = Literal[
    "memgpt_agent",
    "memgpt_v2_agent",
    "letta_v1_agent",
    "react_agent",
    "workflow_agent",
    "split_thread_agent",
    "sleeptime_agent",
    "voice_convo_agent",
    "voice_sleeptime_agent",
]

ToolType: TypeAlias = Literal[
    "custom",
    "letta_core",
    "letta_memory_core",
    "letta_multi_agent_core",
    "letta_sleeptime_core",
    "letta_voice_sleeptime_core",
    "letta_builtin",
    "letta_files_core",
    "external_langchain",
    "external_composio",
    "external_mcp",
]
TOOL_TYPES: frozenset[str] = frozenset(get_args(ToolType))

MessageType: TypeAlias = Literal[
    "system_message",
    "user_message",
    "assistant_message",
    "reasoning_message",
    "hidden_reasoning_message",
    "tool_call_message",
    "tool_return_message",
    "approval_request_message",
    "approval_response_message",
    "summary_message",
    "event_message",
]


#: The largest number a stored integer (a block's limit, a version number) or a page size may be:
#: PostgreSQL's INTEGER. Larger ones are a 422, never an overflow in the database.
MAX_INT = 2**31 - 1
#: How deeply objects and arrays may nest in a request body (or an agent file); deeper is a 422.
MAX_JSON_DEPTH = 64

_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")


def _segment(key: str) -> str:
    return f".{key}" if key.isidentifier() else f"[{key!r}]"


def check_storable(value: Any, where: str = "", *, depth: int = 0) -> None:
    """Raise ValueError, naming the place (`where`: "metadata.topic", "memory_blocks[0].label"), if
    JSON `value` holds what the store cannot keep or return: a NUL character (PostgreSQL refuses it
    in text), a lone UTF-16 surrogate (not Unicode), NaN or an infinity (not JSON), or objects and
    arrays nested deeper than MAX_JSON_DEPTH."""
    if isinstance(value, str):
        bad = _UNSTORABLE_CHARS.search(value)
        if bad is None:
            return
        place = where or "the body"
        if bad.group() == "\x00":
            raise ValueError(f"{place} contains a NUL character (\\x00), which cannot be stored; remove it.")
        raise ValueError(
            f"{place} contains a lone UTF-16 surrogate (U+{ord(bad.group()):04X}), which is not Unicode text; "
            "send UTF-8, or a full surrogate pair in a JSON \\u escape."
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"{where or 'the body'} is {value}, which JSON cannot hold; send a finite number."
            )
        return
    if not isinstance(value, dict | list):
        return
    if depth >= MAX_JSON_DEPTH:
        raise ValueError(
            f"{where or 'the body'} nests objects and arrays more than {MAX_JSON_DEPTH} levels deep; flatten it."
        )
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_storable(item, f"{where}[{i}]", depth=depth + 1)
        return
    for key, item in value.items():
        check_storable(key, f"{where} key {key!r}".lstrip(), depth=depth + 1)
        check_storable(item, f"{where}{_segment(key)}".lstrip("."), depth=depth + 1)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{when.isoformat()} is outside years 1 to 9999 once moved to UTC") from None


#: A datetime as the store keeps it: in UTC (a value without a zone is taken as UTC already).
UTCDatetime = Annotated[datetime, AfterValidator(_utc)]


class WireModel(BaseModel):
    """A response body (or a part of one) as the letta-client SDK parses it.

    Dump with `model_dump(mode="json")` (FastAPI does): None fields stay in as `null`, which the SDK
    accepts for every optional field.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class RequestModel(BaseModel):
    """A request body: unknown keys are a 422 naming the key; keys the SDK sends but this server
    does not use (listed in `ignored`) are accepted and dropped, whatever their value."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    #: Keys the letta-client SDK may send that this server accepts and ignores.
    ignored: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_ignored(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.ignored:
            return {k: v for k, v in data.items() if k not in cls.ignored}
        return data

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """Refuse, before anything is written, text and numbers the store cannot keep (see
        `check_storable`)."""
        try:
            check_storable(data)
        except ValueError as exc:
            raise PydanticCustomError("unstorable_value", "{problem}", {"problem": str(exc)}) from None
        return data


class Health(WireModel):
    """`GET /v1/health/`."""

    status: str = "ok"
    version: str
