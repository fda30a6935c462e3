"""A first-come, first-served lock, and one per SQLite file that queues this process's writers.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps
with a growing back-off (up to 100 ms a try) and wakes in no particular order. Writers of one
process queue on the file's FifoLock instead, so the busy handler only waits for other processes.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque

_guard = threading.Lock()
_by_file: weakref.WeakValueDictionary[str, FifoLock] = weakref.WeakValueDictionary()


class FifoLock:
    """A lock granted in the order it was asked for (threading.Lock makes no such promise).

    Not reentrant; any thread may release it.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queue: deque[threading.Lock] = deque()  # one locked "turn" per waiter
        self._held = False

    def acquire(self, timeout: float = -1) -> bool:
        """Wait for the lock (at most `timeout` seconds, if given); True if it is now held."""
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        try:
            if turn.acquire(timeout=timeout):  # release() hands the lock over by releasing `turn`
                return True
        except BaseException:
            if self._leave(turn):
                self.release()
            raise
        return self._leave(turn)

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._guard:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._held = False

    def _leave(self, turn: threading.Lock) -> bool:
        """Leave the queue; True if the lock was handed over meanwhile (the caller holds it)."""
        with self._guard:
            try:
                self._queue.remove(turn)
            except ValueError:
                return True
            return False


def writer_lock(db_path: str) -> FifoLock:
    """The FifoLock of a SQLite file, shared by every store of this process that opens it."""
    key = os.path.realpath(db_path)
    with _guard:
        lock = _by_file.get(key)
        if lock is None:
            lock = _by_file[key] = FifoLock()
        return lock
