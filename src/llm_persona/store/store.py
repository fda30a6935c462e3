"""`Store`: every repository on one database, opened (and migrated) in one call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Engine

from llm_persona.store.advisory import WAIT_SLOTS, AdvisoryLocks
from llm_persona.store.agents import AgentsRepo
from llm_persona.store.blocks import BlocksRepo
from llm_persona.store.engine import create_lock_engine, create_store_engine, is_memory, resolve_url
from llm_persona.store.keys import KeysRepo
from llm_persona.store.listing import ListingRepo
from llm_persona.store.locks import AgentLocks, LocalLocks, file_locks_or_local
from llm_persona.store.messages import MessagesRepo
from llm_persona.store.migrate import upgrade_engine
from llm_persona.store.passages import PassagesRepo
from llm_persona.store.personas import PersonasRepo
from llm_persona.store.steps import StepsRepo
from llm_persona.store.tools import ToolsRepo


class Store(
    AgentsRepo,
    BlocksRepo,
    ToolsRepo,
    MessagesRepo,
    StepsRepo,
    PassagesRepo,
    PersonasRepo,
    KeysRepo,
    ListingRepo,
):
    """Agents, memory, tools, history and persona versions in SQLite or PostgreSQL.

    Every method is one short transaction, and every one takes the tenant explicitly. Methods are
    synchronous and thread-safe: the async layers call them from worker threads.
    """

    def __init__(self, engine: Engine, locks: AgentLocks) -> None:
        super().__init__(engine, serialise=is_memory(engine.url))
        self._locks = locks

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Self:
        """Open the database at `url` and migrate it to the newest schema.

        `url` defaults to $LLM_PERSONA_DB_URL, else the SQLite file ~/.llm-persona/llm-persona.db.
        A plain path is a SQLite file; postgresql:// URLs use psycopg 3.
        """
        resolved = resolve_url(url)
        engine = create_store_engine(resolved)
        locks: AgentLocks
        if resolved.get_backend_name() == "postgresql":
            locks = AdvisoryLocks(create_lock_engine(resolved, size=1 + WAIT_SLOTS))
        elif is_memory(resolved) or not resolved.database:
            locks = LocalLocks()
        else:
            locks = file_locks_or_local(Path(resolved.database).resolve())
        store = cls(engine, locks)
        try:
            if migrate:
                with store._translate():
                    upgrade_engine(engine)
        except BaseException:
            store.close()
            raise
        return store

    @contextmanager
    def agent_lock(self, agent_id: str) -> Iterator[None]:
        """Hold the agent's lock: other holders, in any process, wait until it is released.

        Serialises the steps of one agent across threads, processes and server replicas; it does
        not check that the agent exists. Not reentrant.
        """
        with ExitStack() as held:
            with self._translate():  # a database error while taking it; not the caller's errors
                held.enter_context(self._locks.hold(agent_id))
            yield

    def close(self) -> None:
        """Close the connection pools."""
        self._locks.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
