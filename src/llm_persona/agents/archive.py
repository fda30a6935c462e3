"""An agent's archival memory as its tools see it during a turn.

Searches read the passages the store holds. A new passage is made here and handed to the step's
working memory: the step commits it with its messages, in one transaction, or drops it with them.

Search by meaning needs the agent's `embedding` handle (e.g. `openai/text-embedding-3-small`): a new
passage is embedded when made, a query when searched. If embedding fails, the passage is still
stored, without a vector and with the reason in its metadata (`embedding_error`), and search falls
back to words. Never a half-written passage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from llm_persona.errors import ModelError
from llm_persona.llm.embeddings import EmbedderResolver, default_embedders
from llm_persona.store.records import AgentRecord, PassageRecord

if TYPE_CHECKING:
    from llm_persona.store import Store

log = logging.getLogger(__name__)

#: The metadata key that says why a passage has no embedding.
EMBEDDING_ERROR = "embedding_error"


@dataclass(frozen=True)
class PassageQuery:
    """What `archival_memory_search` asks for."""

    text: str
    tags: Sequence[str] = ()
    match_all_tags: bool = False
    start: datetime | None = None  # created at or after (inclusive)
    end: datetime | None = None  # created at or before (inclusive)
    limit: int = 10


async def embed_for(
    agent: AgentRecord, text: str, embedders: EmbedderResolver
) -> tuple[list[float] | None, str | None]:
    """`text` embedded with the agent's embedding model: (vector, None); (None, None) if the agent
    has no embedding model; (None, why) if embedding failed. Never raises for a failed embedding."""
    if not agent.embedding:
        return None, None
    try:
        [vector] = await embedders(agent.embedding).embed([text])
    except ModelError as exc:
        log.warning("agent %s: %s", agent.id, exc)
        return None, str(exc)
    except Exception as exc:  # an embedder's bug must not lose the passage either
        log.exception("agent %s: embedding with %s failed", agent.id, agent.embedding)
        return None, f"Cannot embed with {agent.embedding}: {type(exc).__name__}: {exc}"
    return vector, None


def new_passage(
    agent: AgentRecord, text: str, tags: Sequence[str], vector: list[float] | None, error: str | None
) -> PassageRecord:
    """A passage of the agent with its embedding, or with the reason it has none."""
    return PassageRecord(
        tenant=agent.tenant,
        agent_id=agent.id,
        text=text,
        tags=list(tags),
        embedding=vector,
        metadata={EMBEDDING_ERROR: error} if error else {},
    )


class Archive:
    """The archival memory of one agent, for one turn. `embedders` resolves embedding handles
    (default: the process's shared ones)."""

    def __init__(self, store: Store, agent: AgentRecord, embedders: EmbedderResolver | None = None) -> None:
        self.store = store
        self.agent = agent
        self.embedders = embedders or default_embedders()

    async def new_passage(self, text: str, tags: Sequence[str]) -> PassageRecord:
        """A passage for the agent, embedded if it can be, not stored yet (the step commits it)."""
        vector, error = await embed_for(self.agent, text, self.embedders)
        return new_passage(self.agent, text, tags, vector, error)

    async def search(self, query: PassageQuery) -> list[PassageRecord]:
        """The agent's stored passages that match `query`, the best first: by words and meaning
        when the query can be embedded, else by words."""
        vector, _ = await embed_for(self.agent, query.text, self.embedders)
        return await asyncio.to_thread(
            self.store.search_passages,
            self.agent.tenant,
            self.agent.id,
            query.text,
            tags=list(query.tags) or None,
            match_all_tags=query.match_all_tags,
            start=query.start,
            end=query.end,
            limit=query.limit,
            embedding=vector,
        )
