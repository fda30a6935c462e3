"""Core memory: the blocks an agent always sees, how they compile into its system prompt, and a
working copy that a step edits and commits (or drops) as a whole, with the archival passages the
step inserted."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from llm_persona.store.records import BlockRecord, PassageRecord


class ToolError(Exception):
    """A tool call the model got wrong; the message goes back to the model as the tool's result."""


class WorkingMemory:
    """The agent's blocks during one step: tools edit this copy; the step commits `changes()`."""

    def __init__(self, blocks: list[BlockRecord]) -> None:
        self._blocks = {b.label: b for b in blocks}
        self._original = {b.label: b.value for b in blocks}
        self._new_passages: list[PassageRecord] = []

    @property
    def blocks(self) -> list[BlockRecord]:
        return list(self._blocks.values())

    def get(self, label: str) -> BlockRecord:
        block = self._blocks.get(label)
        if block is None:
            labels = ", ".join(f"`{name}`" for name in self._blocks) or "none"
            raise ToolError(f"Memory block `{label}` does not exist. Existing blocks: {labels}.")
        return block

    def writable(self, label: str) -> BlockRecord:
        block = self.get(label)
        if block.read_only:
            raise ToolError(f"Memory block `{label}` is read-only: you cannot edit it. Leave it as it is.")
        return block

    def write(self, label: str, value: str) -> None:
        block = self.writable(label)
        if len(value) > block.limit:
            raise ToolError(
                f"Edit failed: the new value of block `{label}` would have {len(value)} characters, over "
                f"its {block.limit} character limit. Nothing was written; shorten or summarise the text."
            )
        self._blocks[label] = replace(block, value=value)

    def archive(self, passage: PassageRecord) -> None:
        """Insert a passage into archival memory when the step commits."""
        self._new_passages.append(passage)

    @property
    def new_passages(self) -> list[PassageRecord]:
        """The archival passages inserted in this step, in order."""
        return list(self._new_passages)

    def changes(self) -> dict[str, str]:
        """block id -> new value, for every block whose value differs from the step's start."""
        return {b.id: b.value for label, b in self._blocks.items() if b.value != self._original.get(label)}


def compile_blocks(blocks: list[BlockRecord]) -> str:
    """The `<memory_blocks>` section of the system prompt, in Letta's layout."""
    parts = ["<memory_blocks>\nThe following memory blocks are currently engaged in your core memory unit:\n"]
    for block in blocks:
        metadata = "- read_only=true\n" if block.read_only else ""
        metadata += f"- chars_current={len(block.value)}\n- chars_limit={block.limit}"
        parts.append(
            f"<{block.label}>\n<description>\n{block.description or ''}\n</description>\n"
            f"<metadata>\n{metadata}\n</metadata>\n<value>\n{block.value}\n</value>\n</{block.label}>\n"
        )
    return "\n".join(parts) + "\n</memory_blocks>"


def compile_metadata(*, now: datetime, recall_count: int, archival_count: int) -> str:
    """The `<memory_metadata>` section: counts are as of the last compile, not live."""
    return (
        "<memory_metadata>\n"
        f"- The current system date is: {now.strftime('%B %d, %Y')}\n"
        f"- {recall_count} previous messages between you and the user are stored in recall memory "
        "(use tools to access them)\n"
        f"- {archival_count} total memories you created are stored in archival memory "
        "(use tools to access them)\n"
        "</memory_metadata>"
    )
