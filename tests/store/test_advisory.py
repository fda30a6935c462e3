"""PostgreSQL agent locks: few connections however many agents are busy; replicas still queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from llm_persona.errors import StoreError
from llm_persona.store import Store
from llm_persona.store.advisory import WAIT_SLOTS, AdvisoryLocks

BUSY = 100


@pytest.fixture
def replicas(pg_migrated: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, each with its own engines: two server replicas."""
    with Store.open(pg_migrated, migrate=False) as one, Store.open(pg_migrated, migrate=False) as two:
        yield one, two


def _count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(text(sql)).scalar_one())
    engine.dispose()
    return count


def _connections(url: str) -> int:
    """Connections to the test database, this one aside."""
    return _count(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )


def _advisory_locks(url: str) -> int:
    """Advisory locks held in the test database."""
    return _count(
        url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )


def _lock_engine(store: Store) -> AdvisoryLocks:
    locks = store._locks
    assert isinstance(locks, AdvisoryLocks)
    return locks


def _hold_all(store: Store, agent_ids: list[str], inside: threading.Barrier, leave: threading.Event) -> None:
    """Each agent's lock in a thread of its own; all held at once until `leave` is set."""

    def hold(agent_id: str) -> None:
        with store.agent_lock(agent_id):
            inside.wait(timeout=30)
            leave.wait(timeout=30)

    threads = [threading.Thread(target=hold, args=(a,), daemon=True) for a in agent_ids]
    for thread in threads:
        thread.start()


def test_many_busy_agents_use_one_connection(replicas: tuple[Store, Store], pg_migrated: str) -> None:
    store, _ = replicas
    before = _connections(pg_migrated)
    inside, leave = threading.Barrier(BUSY + 1), threading.Event()
    _hold_all(store, [f"agent-{i}" for i in range(BUSY)], inside, leave)
    inside.wait(timeout=30)  # every lock is held now
    try:
        assert _lock_engine(store).engine.pool.checkedout() == 1
        assert _connections(pg_migrated) <= before + 1
    finally:
        leave.set()


def test_replicas_queue_on_one_agent(replicas: tuple[Store, Store]) -> None:
    one, two = replicas
    events: list[str] = []
    with one.agent_lock("agent-x"):
        waiters = [
            threading.Thread(target=lambda s=s, n=n: _enter(s, n, events))
            for s, n in ((two, "two"), (one, "one again"))
        ]
        for waiter in waiters:
            waiter.start()
        time.sleep(0.3)
        events.append("one out")
    for waiter in waiters:
        waiter.join(timeout=10)
    assert events[0] == "one out"
    assert sorted(events[1:]) == ["one again in", "two in"]


def _enter(store: Store, name: str, events: list[str]) -> None:
    with store.agent_lock("agent-x"):
        events.append(f"{name} in")
        time.sleep(0.05)


def test_waiting_for_many_agents_held_elsewhere_takes_few_connections(
    replicas: tuple[Store, Store], pg_migrated: str
) -> None:
    one, two = replicas
    agents = [f"agent-{i}" for i in range(20)]
    inside, leave = threading.Barrier(len(agents) + 1), threading.Event()
    _hold_all(one, agents, inside, leave)
    inside.wait(timeout=30)
    got: list[str] = []
    waiters = [threading.Thread(target=lambda a=a: _take(two, a, got), daemon=True) for a in agents]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    assert got == []  # all wait...
    assert _lock_engine(two).engine.pool.checkedout() <= 1 + WAIT_SLOTS  # ...on few connections
    leave.set()
    for waiter in waiters:
        waiter.join(timeout=30)
    assert sorted(got) == sorted(agents)


def _take(store: Store, agent_id: str, got: list[str]) -> None:
    with store.agent_lock(agent_id):
        got.append(agent_id)


def test_a_broken_shared_connection_is_replaced_and_its_locks_are_gone(
    replicas: tuple[Store, Store], pg_migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = replicas
    with one.agent_lock("agent-x"):
        shared = _lock_engine(one)._shared
        assert shared is not None
        pid = shared.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = create_engine(pg_migrated, poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        with two.agent_lock("agent-x"):  # PostgreSQL dropped the lock with the session
            pass
        with one.agent_lock("agent-y"):  # a new shared connection
            pass
    assert "Lost the PostgreSQL connection holding 1 agent lock(s)" in caplog.text
    assert _advisory_locks(pg_migrated) == 0  # releasing the lost lock left nothing behind


def test_an_unreachable_database_is_a_clear_error() -> None:
    store = Store.open("postgresql://postgres@127.0.0.1:1/nowhere", migrate=False)
    try:
        with pytest.raises(StoreError, match="Check that the database is reachable"), store.agent_lock("a"):
            pass  # pragma: no cover - never entered
    finally:
        store.close()
