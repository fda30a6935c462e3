"""Per-agent locks that make processes queue, so one agent runs one step at a time everywhere.

PostgreSQL: a session-level advisory lock, held on a dedicated connection (server replicas queue).
SQLite file: an exclusive flock on `<db>.locks/<hash>.lock` (processes on one machine queue).
In-memory SQLite: a lock in this process. Every kind waits; none fails. A holder that dies
releases its lock with its connection or file descriptor. Lock files are kept (deleting one
while another process waits on it would break the lock); they are empty.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

try:
    import fcntl
except ImportError:  # Windows: SQLite locks stay within the process
    fcntl = None  # type: ignore[assignment]

_NAMESPACE = "llm-persona:agent:"
_LOCK = text("SELECT pg_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def advisory_key(agent_id: str) -> int:
    """A signed 64-bit key for pg_advisory_lock, from the agent id."""
    digest = hashlib.blake2b((_NAMESPACE + agent_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AgentLocks:
    """The lock kind every store has: `hold(agent_id)` is a context manager that waits for the lock."""

    def hold(self, agent_id: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the locks keep open (not locks being held)."""


class LocalLocks(AgentLocks):
    """Locks within this process (in-memory SQLite, or no flock on this platform)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, agent_id: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(agent_id, (threading.Lock(), 0))
            self._locks[agent_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[agent_id]
                if users == 1:
                    del self._locks[agent_id]
                else:
                    self._locks[agent_id] = (lock, users - 1)


class FileLocks(AgentLocks):
    """An exclusive flock per agent on a file in `folder` (works between threads too)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def hold(self, agent_id: str) -> Iterator[None]:
        assert fcntl is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(agent_id.encode()).hexdigest()[:32]
        fd = os.open(self.folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class AdvisoryLocks(AgentLocks):
    """pg_advisory_lock on a connection of `engine` (its own pool) for as long as the lock is held."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, agent_id: str) -> Iterator[None]:
        key = advisory_key(agent_id)
        conn = self.engine.connect()  # an autocommit connection: see engine.create_lock_engine
        try:
            conn.execute(_LOCK, {"key": key})
        except BaseException:
            conn.invalidate()  # closing the session drops a lock it may have got
            conn.close()
            raise
        try:
            yield
        finally:
            try:
                conn.execute(_UNLOCK, {"key": key})
            except Exception:
                conn.invalidate()
            conn.close()

    def close(self) -> None:
        self.engine.dispose()


def file_locks_or_local(db_path: Path) -> AgentLocks:
    """FileLocks beside the database file, where flock exists."""
    if fcntl is None:
        return LocalLocks()
    return FileLocks(db_path.with_name(db_path.name + ".locks"))
