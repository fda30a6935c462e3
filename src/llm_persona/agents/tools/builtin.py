"""The built-in memory tools, named and shaped as in Letta, with short descriptions (every call pays
for their schemas)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from llm_persona.agents.archive import EMBEDDING_ERROR, Archive, PassageQuery
from llm_persona.agents.memory import ToolError, WorkingMemory

#: The tools an agent gets unless told otherwise, as in Letta: its v2 memory tools, and its base
#: tools without send_message (conversation_search, the archival tools).
BASE_TOOLS = (
    "memory_insert",
    "memory_replace",
    "conversation_search",
    "archival_memory_insert",
    "archival_memory_search",
)

_LINE_NUMBER = re.compile(r"^\s*\d+→", re.MULTILINE)
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")

SearchFn = Callable[[str, int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class ToolContext:
    memory: WorkingMemory
    search_messages: SearchFn
    archive: Archive


@dataclass(frozen=True)
class BuiltinTool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolContext, dict[str, Any]], Awaitable[str]]


def _schema(required: list[str], **props: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": t, "description": d} for name, (t, d) in props.items()},
        "required": required,
    }


def _no_line_numbers(field: str, text: str) -> None:
    if _LINE_NUMBER.search(text):
        raise ToolError(
            f"{field} contains a line number prefix; line numbers are display only, leave them out."
        )


_EDITED = (
    "Memory block `{label}` edited; your system prompt now shows the new value. Check it is as intended."
)


async def memory_replace(ctx: ToolContext, args: dict[str, Any]) -> str:
    label, old, new = str(args["label"]), str(args["old_str"]), str(args["new_str"])
    _no_line_numbers("old_str", old)
    _no_line_numbers("new_str", new)
    value = ctx.memory.writable(label).value
    count = value.count(old) if old else 0
    if count == 0:
        raise ToolError(
            f"No replacement was performed: old_str `{old}` does not appear verbatim in memory block `{label}`."
        )
    if count > 1:
        lines = [i + 1 for i, line in enumerate(value.split("\n")) if old in line]
        raise ToolError(
            f"No replacement was performed: old_str `{old}` occurs {count} times (lines {lines}) in "
            f"memory block `{label}`. Include more context so it is unique."
        )
    ctx.memory.write(label, value.replace(old, new))
    return _EDITED.format(label=label)


async def memory_insert(ctx: ToolContext, args: dict[str, Any]) -> str:
    label, new = str(args["label"]), str(args["new_str"])
    _no_line_numbers("new_str", new)
    line = int(args.get("insert_line", -1))
    value = ctx.memory.writable(label).value
    lines = value.split("\n") if value else []
    if line == -1:
        line = len(lines)
    if not 0 <= line <= len(lines):
        raise ToolError(
            f"Invalid insert_line {line}: use a line between 0 and {len(lines)} of block `{label}`, "
            "or -1 to append at the end."
        )
    ctx.memory.write(label, "\n".join([*lines[:line], *new.split("\n"), *lines[line:]]))
    return _EDITED.format(label=label)


async def memory_rethink(ctx: ToolContext, args: dict[str, Any]) -> str:
    label, new = str(args["label"]), str(args["new_memory"])
    _no_line_numbers("new_memory", new)
    ctx.memory.write(label, new)
    return _EDITED.format(label=label)


async def core_memory_append(ctx: ToolContext, args: dict[str, Any]) -> str:
    label, content = str(args["label"]), str(args["content"])
    value = ctx.memory.writable(label).value
    ctx.memory.write(label, f"{value}\n{content}" if value else content)
    return _EDITED.format(label=label)


async def core_memory_replace(ctx: ToolContext, args: dict[str, Any]) -> str:
    label, old, new = str(args["label"]), str(args["old_content"]), str(args["new_content"])
    value = ctx.memory.writable(label).value
    if not old or old not in value:
        raise ToolError(f"Old content `{old}` not found in memory block `{label}`.")
    ctx.memory.write(label, value.replace(old, new))
    return _EDITED.format(label=label)


async def conversation_search(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = str(args["query"]).strip()
    if not query:
        raise ToolError("query is empty: pass the words to look for in past messages.")
    limit = max(1, min(int(args.get("limit") or 10), 50))
    hits = await ctx.search_messages(query, limit)
    if not hits:
        return f"No past messages match `{query}`."
    return json.dumps({"message": f"Showing {len(hits)} results:", "results": hits}, ensure_ascii=False)


#: Most results one archival_memory_search returns; a larger top_k is cut to this.
MAX_TOP_K = 50


async def archival_memory_insert(ctx: ToolContext, args: dict[str, Any]) -> str:
    content = str(args["content"])
    if not content.strip():
        raise ToolError("content is empty: pass the text to store in archival memory.")
    passage = await ctx.archive.new_passage(content, _tags(args))
    ctx.memory.archive(passage)
    if EMBEDDING_ERROR in passage.metadata:
        return f"Stored in archival memory as {passage.id} (searchable by words only: embedding failed)."
    return f"Stored in archival memory as {passage.id}."


async def archival_memory_search(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = str(args["query"]).strip()
    if not query:
        raise ToolError("query is empty: describe what to look for in archival memory.")
    top_k = args.get("top_k")
    if top_k is not None and int(top_k) < 1:
        raise ToolError(f"top_k is {top_k}: ask for at least 1 result, or leave it out for 10.")
    start = _when(args, "start_datetime", end_of_day=False)
    end = _when(args, "end_datetime", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise ToolError(
            f"start_datetime {args['start_datetime']!r} is after end_datetime {args['end_datetime']!r}; "
            "swap them or drop one."
        )
    found = await ctx.archive.search(
        PassageQuery(
            query,
            tags=_tags(args),
            match_all_tags=args.get("tag_match_mode") == "all",
            start=start,
            end=end,
            limit=min(int(top_k or 10), MAX_TOP_K),
        )
    )
    if not found:
        return f"No archival memories match `{query}`."
    return json.dumps(
        [{"timestamp": _timestamp(p.created_at), "content": p.text, "tags": p.tags} for p in found],
        ensure_ascii=False,
    )


def _tags(args: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in args.get("tags") or () if str(t).strip()))


def _when(args: dict[str, Any], name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 date or time from the arguments, in UTC if it names no zone. A date alone is the
    whole day: its first moment as a start, its last as an end (both bounds are inclusive)."""
    raw = args.get(name)
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ToolError(
            f"{name} {text!r} is not an ISO 8601 date or time; use e.g. 2024-01-15 or 2024-01-15T14:30."
        ) from None
    if end_of_day and _DATE_ONLY.fullmatch(text):
        when = datetime.combine(when.date(), time.max)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _timestamp(created_at: datetime) -> str:
    """As Letta writes an archival passage's time for the model (here always in UTC)."""
    return created_at.astimezone(UTC).strftime("%Y-%m-%d %I:%M:%S %p %Z%z")


_LABEL = ("string", "Label of the memory block to edit.")
_TAGS = {"type": "array", "items": {"type": "string"}}
_ISO = {"type": "string", "description": "ISO 8601"}

BUILTIN_TOOLS: dict[str, BuiltinTool] = {
    t.name: t
    for t in [
        BuiltinTool(
            "memory_replace",
            "Replace one exact, unique occurrence of old_str in a memory block with new_str.",
            _schema(
                ["label", "old_str", "new_str"],
                label=_LABEL,
                old_str=("string", "Text to replace, verbatim, without line numbers."),
                new_str=("string", "Replacement text (empty to delete)."),
            ),
            memory_replace,
        ),
        BuiltinTool(
            "memory_insert",
            "Insert text into a memory block at a line (default: the end).",
            {
                **_schema(
                    ["label", "new_str"],
                    label=_LABEL,
                    new_str=("string", "Text to insert, without line numbers."),
                    insert_line=("integer", "Line to insert after; 0 for the top, -1 for the end."),
                ),
            },
            memory_insert,
        ),
        BuiltinTool(
            "memory_rethink",
            "Rewrite a memory block entirely, e.g. to reorganise it.",
            _schema(
                ["label", "new_memory"],
                label=_LABEL,
                new_memory=("string", "The block's complete new value."),
            ),
            memory_rethink,
        ),
        BuiltinTool(
            "core_memory_append",
            "Append a line to a memory block.",
            _schema(["label", "content"], label=_LABEL, content=("string", "Text to append.")),
            core_memory_append,
        ),
        BuiltinTool(
            "core_memory_replace",
            "Replace old_content with new_content in a memory block.",
            _schema(
                ["label", "old_content", "new_content"],
                label=_LABEL,
                old_content=("string", "Exact text to replace."),
                new_content=("string", "Replacement text."),
            ),
            core_memory_replace,
        ),
        BuiltinTool(
            "conversation_search",
            "Search all past messages with the user (recall memory) by keywords.",
            _schema(
                ["query"],
                query=("string", "Words to look for."),
                limit=("integer", "Maximum results (default 10)."),
            ),
            conversation_search,
        ),
        BuiltinTool(
            "archival_memory_insert",
            "Save a fact to long-term archival memory.",
            {
                "type": "object",
                "properties": {"content": {"type": "string"}, "tags": _TAGS},
                "required": ["content"],
            },
            archival_memory_insert,
        ),
        BuiltinTool(
            "archival_memory_search",
            "Search archival memory (default top_k 10).",
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "tags": _TAGS,
                    "tag_match_mode": {"enum": ["any", "all"]},
                    "top_k": {"type": "integer"},
                    "start_datetime": _ISO,
                    "end_datetime": _ISO,
                },
                "required": ["query"],
            },
            archival_memory_search,
        ),
    ]
}
