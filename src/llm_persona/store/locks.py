"""Per-agent locks that make processes queue, so one agent runs one step at a time everywhere.

PostgreSQL: a session-level advisory lock (server replicas queue), see store/advisory.py.
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

try:
    import fcntl
except ImportError:  # Windows: SQLite locks stay within the process
    fcntl = None  # type: ignore[assignment]


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


def file_locks_or_local(db_path: Path) -> AgentLocks:
    """FileLocks beside the database file, where flock exists."""
    if fcntl is None:
        return LocalLocks()
    return FileLocks(db_path.with_name(db_path.name + ".locks"))
