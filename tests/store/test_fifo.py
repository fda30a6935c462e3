"""FifoLock, and the queue this process's writers to a SQLite file wait in."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from llm_persona.errors import StoreError
from llm_persona.store import Store
from llm_persona.store.fifo import FifoLock, writer_lock

from .helpers import TENANT, new_agent


def _queued(lock: FifoLock, waiters: int) -> None:
    deadline = time.monotonic() + 5
    while len(lock._queue) < waiters:
        assert time.monotonic() < deadline, "the waiter never queued"
        time.sleep(0.001)


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock, order = FifoLock(), []
    assert lock.acquire()

    def take(i: int) -> None:
        assert lock.acquire()
        order.append(i)
        lock.release()

    threads = []
    for i in range(10):
        threads.append(threading.Thread(target=take, args=(i,)))
        threads[-1].start()
        _queued(lock, i + 1)
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(10))
    assert lock.acquire(timeout=0)


def test_a_waiter_that_times_out_leaves_the_queue() -> None:
    lock = FifoLock()
    assert lock.acquire()
    assert not lock.acquire(timeout=0.05)
    assert len(lock._queue) == 0
    lock.release()
    assert lock.acquire(timeout=0)  # free again: nobody was handed it


def test_stores_on_one_file_share_its_writer_queue(tmp_path: Path) -> None:
    path = str(tmp_path / "data.db")
    with Store.open(path) as one, Store.open(path) as two:
        assert one._queue is two._queue is writer_lock(str(tmp_path / "." / "data.db"))
    with Store.open("sqlite://") as memory:
        assert memory._queue is None  # one connection, serialised already


def test_a_writer_queued_past_the_timeout_gets_a_clear_error(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'data.db'}?timeout=0.05") as store:
        agent = new_agent(store)
        assert store._queue is not None
        store._queue.acquire()  # another writer of this process, in a long transaction
        try:
            with pytest.raises(StoreError, match="is locked: another connection held its write lock"):
                store.update_agent(TENANT, agent.id, description="changed")
        finally:
            store._queue.release()
        assert store.update_agent(TENANT, agent.id, description="changed").description == "changed"
