"""The in-context messages of recently active agents, kept between turns so a turn reads only what
is new. Messages never change once written; the cache is checked against the agent's row (its
last_seq and context_start_seq) on every turn, so writes by other processes are picked up."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from llm_persona.agents.context import InContext
from llm_persona.store import AgentRecord


@dataclass(frozen=True)
class CachedContext:
    last_seq: int
    context_start_seq: int
    context: InContext  # handed to the next turn of this agent (turns of one agent never overlap)

    def valid_for(self, agent: AgentRecord) -> bool:
        """True when `agent` has only appended since: same window start, not rewound."""
        return agent.context_start_seq == self.context_start_seq and agent.last_seq >= self.last_seq


class ContextCache:
    """A small LRU of (tenant, agent id) -> the agent's in-context messages."""

    def __init__(self, max_agents: int = 256) -> None:
        self.max_agents = max_agents
        self._entries: OrderedDict[tuple[str, str], CachedContext] = OrderedDict()

    def get(self, tenant: str, agent_id: str) -> CachedContext | None:
        entry = self._entries.get((tenant, agent_id))
        if entry is not None:
            self._entries.move_to_end((tenant, agent_id))
        return entry

    def remember(self, tenant: str, agent: AgentRecord, context: InContext) -> None:
        key = (tenant, agent.id)
        self._entries[key] = CachedContext(agent.last_seq, agent.context_start_seq, context)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_agents:
            self._entries.popitem(last=False)
