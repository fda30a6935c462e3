"""The agent's system prompt: persona first (static, cacheable), then memory instructions, then
the memory blocks and their metadata. Compiled when memory or the persona changes, and reused
byte for byte otherwise, so each call's prompt extends the previous one and provider caches hit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llm_persona.agents.memory import compile_blocks, compile_metadata
from llm_persona.store.records import BlockRecord as Block

DEFAULT_IDENTITY = "You are a helpful assistant."

MEMORY_INSTRUCTIONS = """\
You have persistent memory. The memory blocks below are always in your context: keep them current \
with your memory tools when you learn something worth keeping (facts about the user, your own \
notes), and keep them short. Past messages that no longer fit your context stay searchable with \
conversation_search. Answer the user directly in plain text; do not narrate memory edits."""


@dataclass(frozen=True)
class SystemPrompt:
    text: str
    cache_prefix: str  # the leading part that only changes when the persona does


def compile_system_prompt(
    *,
    identity: str | None,
    blocks: list[Block],
    now: datetime,
    recall_count: int,
    archival_count: int,
) -> SystemPrompt:
    """`identity` is the rendered persona (or a user-supplied system prompt)."""
    prefix = f"{identity or DEFAULT_IDENTITY}\n\n{MEMORY_INSTRUCTIONS}"
    memory = compile_blocks(blocks)
    metadata = compile_metadata(now=now, recall_count=recall_count, archival_count=archival_count)
    return SystemPrompt(f"{prefix}\n\n{memory}\n\n{metadata}", prefix)
