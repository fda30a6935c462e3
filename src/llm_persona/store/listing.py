"""Agents as a listing shows them: each with its blocks, tools and in-context message ids, read
for a whole page in four queries, whatever the page's size (not a full state per agent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, select

from llm_persona.store.agents import agents_from_rows
from llm_persona.store.base import StoreBase, to_record
from llm_persona.store.blocks import BLOCK_COLUMNS, BLOCK_FIELDS
from llm_persona.store.records import AgentRecord, BlockRecord, ToolRecord
from llm_persona.store.tables import agents, agents_blocks, agents_tools, blocks, messages, tools
from llm_persona.store.tools import TOOL_COLUMNS, TOOL_FIELDS

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_AGENTS = select(agents).where(agents.c.tenant == bindparam("tenant"), agents.c.id.in_(_IDS))
_BLOCKS = (
    select(agents_blocks.c.agent_id.label("owner"), *BLOCK_COLUMNS)
    .join(agents_blocks, agents_blocks.c.block_id == blocks.c.id)
    .where(agents_blocks.c.agent_id.in_(_IDS))
    .order_by(agents_blocks.c.agent_id, agents_blocks.c.position)
)
_TOOLS = (
    select(agents_tools.c.agent_id.label("owner"), *TOOL_COLUMNS)
    .join(agents_tools, agents_tools.c.tool_id == tools.c.id)
    .where(agents_tools.c.agent_id.in_(_IDS))
    .order_by(agents_tools.c.agent_id, agents_tools.c.position)
)
_IN_CONTEXT = (
    select(messages.c.agent_id, messages.c.id)
    .join(agents, agents.c.id == messages.c.agent_id)
    .where(messages.c.agent_id.in_(_IDS), messages.c.seq >= agents.c.context_start_seq)
    .order_by(messages.c.agent_id, messages.c.seq)
)


@dataclass(frozen=True, slots=True)
class AgentOverview:
    """An agent with its blocks and tools, and the ids of its in-context messages (not the messages)."""

    agent: AgentRecord
    blocks: list[BlockRecord]
    tools: list[ToolRecord]
    message_ids: list[str]


class ListingRepo(StoreBase):
    """Many agents at once, for listings."""

    def agent_overviews(self, tenant: str, agent_ids: Sequence[str]) -> list[AgentOverview]:
        """The agents of `tenant` among `agent_ids`, in that order, read in one snapshot; ids of
        agents that no longer exist (deleted since they were listed) are left out."""
        if not agent_ids:
            return []
        ids = list(dict.fromkeys(agent_ids))
        with self._read() as conn:
            rows = {row.id: row for row in conn.execute(_AGENTS, {"tenant": tenant, "ids": ids})}
            found = [rows[i] for i in ids if i in rows]
            records = agents_from_rows(conn, found)
            owned = [r.id for r in records]
            by_agent: dict[str, AgentOverview] = {
                r.id: AgentOverview(agent=r, blocks=[], tools=[], message_ids=[]) for r in records
            }
            if owned:
                for row in conn.execute(_BLOCKS, {"ids": owned}):
                    by_agent[row.owner].blocks.append(to_record(BlockRecord, BLOCK_FIELDS, row[1:]))
                for row in conn.execute(_TOOLS, {"ids": owned}):
                    by_agent[row.owner].tools.append(to_record(ToolRecord, TOOL_FIELDS, row[1:]))
                for agent_id, message_id in conn.execute(_IN_CONTEXT, {"ids": owned}):
                    by_agent[agent_id].message_ids.append(message_id)
        return [by_agent[r.id] for r in records]
