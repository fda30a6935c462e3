"""Per-agent locks in PostgreSQL: session advisory locks, on few connections however many agents are busy.

A session may hold any number of advisory locks, so every lock is first tried, without waiting,
on one shared connection. Only when another session holds it (another process or replica) does
the holder wait for it, with pg_advisory_lock on a connection of its own, kept until release; at
most `wait_slots` such connections at once, other waiters retry the shared one until a slot frees.
A session's advisory locks are re-entrant, so holders in this process queue for an agent on a
thread lock first. A process that dies releases its locks with its connections.

If the shared connection breaks, PostgreSQL drops every lock it held; it is replaced, and the turns
holding those locks run on unprotected: `commit_step`'s check of last_seq refuses their lost updates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from llm_persona.store.locks import AgentLocks, LocalLocks

log = logging.getLogger(__name__)

#: Connections per process that may wait for (then hold) a lock another session holds.
WAIT_SLOTS = 4
_NAMESPACE = "llm-persona:agent:"
_TRY = text("SELECT pg_try_advisory_lock(:key)")
_LOCK = text("SELECT pg_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def advisory_key(agent_id: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, from the agent id."""
    digest = hashlib.blake2b((_NAMESPACE + agent_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLocks(AgentLocks):
    """Advisory locks on `engine` (autocommit, see engine.create_lock_engine), at most 1 + `wait_slots`
    of its connections in use."""

    def __init__(self, engine: Engine, *, wait_slots: int = WAIT_SLOTS) -> None:
        self.engine = engine
        self._local = LocalLocks()
        self._slots = threading.BoundedSemaphore(wait_slots)
        self._guard = threading.Lock()  # one statement at a time on the shared connection
        self._shared: Connection | None = None
        self._generation = 0  # bumped when the shared connection is replaced
        self._held = 0  # locks held on the shared connection
        self._closed = False

    @contextmanager
    def hold(self, agent_id: str) -> Iterator[None]:
        key = advisory_key(agent_id)
        with self._local.hold(agent_id):
            release = self._acquire(key)
            try:
                yield
            finally:
                release()

    def close(self) -> None:
        with self._guard:
            self._closed = True
            if self._held == 0:
                self._drop_shared(invalidate=False)
        self.engine.dispose()

    def _acquire(self, key: int) -> Callable[[], None]:
        delay = 0.001
        while True:
            generation = self._try_shared(key)
            if generation is not None:
                return lambda: self._release_shared(key, generation)
            if self._slots.acquire(timeout=delay):
                break
            delay = min(delay * 2, 0.05)
        try:
            return self._wait_own(key)
        except BaseException:
            self._slots.release()
            raise

    def _try_shared(self, key: int) -> int | None:
        """Try the lock on the shared connection: its generation if taken, None if another session
        holds it. A broken connection is replaced and tried again, once."""
        with self._guard:
            try:
                taken = self._try_on_shared(key)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                taken = self._try_on_shared(key)
            if not taken:
                return None
            self._held += 1
            return self._generation

    def _try_on_shared(self, key: int) -> bool:
        if self._shared is None:
            self._shared = self.engine.connect()
        try:
            return bool(self._shared.execute(_TRY, {"key": key}).scalar_one())
        except BaseException:
            self._drop_shared(invalidate=True)  # did it take the lock? Unknown: end the session
            raise

    def _release_shared(self, key: int, generation: int) -> None:
        with self._guard:
            if generation != self._generation:
                return  # that connection is gone, and the lock with it
            self._held -= 1
            assert self._shared is not None
            try:
                self._shared.execute(_UNLOCK, {"key": key})
            except DBAPIError:
                self._drop_shared(invalidate=True)  # a lock left behind would block other replicas
                return
            if self._closed and self._held == 0:
                self._drop_shared(invalidate=False)

    def _drop_shared(self, *, invalidate: bool) -> None:
        """Close the shared connection (under `_guard`); invalidate: it is broken or unsure."""
        if self._shared is None:
            return
        if self._held:
            log.warning(
                "Lost the PostgreSQL connection holding %d agent lock(s); their turns continue "
                "unprotected (commit_step refuses lost updates). Check the database connection.",
                self._held,
            )
        if invalidate:
            self._shared.invalidate()
        self._shared.close()
        self._shared, self._held = None, 0
        self._generation += 1

    def _wait_own(self, key: int) -> Callable[[], None]:
        """Wait for the lock on a connection of its own (a slot is held), kept until release."""
        conn = self.engine.connect()
        try:
            conn.execute(_LOCK, {"key": key})
        except BaseException:
            conn.invalidate()  # closing the session drops a lock it may have got
            conn.close()
            raise

        def release() -> None:
            try:
                conn.execute(_UNLOCK, {"key": key})
            except Exception:
                conn.invalidate()
            finally:
                conn.close()
                self._slots.release()

        return release
