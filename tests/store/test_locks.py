"""agent_lock: one agent's steps take turns across processes (and threads), on both engines."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from llm_persona.store import Store
from llm_persona.store.advisory import advisory_key

from .helpers import TENANT, new_agent
from .workers import append_turns, hold_until_killed

TURNS = 25


def _race(store: Store, store_url: str, use_lock: bool) -> tuple[str, dict[str, int]]:
    agent = new_agent(store)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()  # the children start their turns together
    procs = [
        ctx.Process(
            target=append_turns, args=(store_url, TENANT, agent.id, name, TURNS, start, use_lock, out)
        )
        for name in ("p1", "p2")
    ]
    for proc in procs:
        proc.start()
    results = dict(out.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return agent.id, results


def test_two_processes_queue_on_one_agent(store: Store, store_url: str) -> None:
    agent_id, conflicts = _race(store, store_url, use_lock=True)
    assert conflicts == {"p1": 0, "p2": 0}
    messages = store.list_messages(TENANT, agent_id)
    assert [m.seq for m in messages] == list(range(1, 2 * TURNS + 1))
    assert sorted(m.content or "" for m in messages) == sorted(
        f"{p}-{i}" for p in ("p1", "p2") for i in range(TURNS)
    )
    assert store.get_agent(TENANT, agent_id).last_seq == 2 * TURNS
    assert len(store.list_steps(TENANT, agent_id)) == 2 * TURNS


def test_without_the_lock_commit_step_detects_the_race(store: Store, store_url: str) -> None:
    agent_id, conflicts = _race(store, store_url, use_lock=False)
    assert sum(conflicts.values()) > 0  # the optimistic check caught lost updates...
    messages = store.list_messages(TENANT, agent_id)
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))  # ...and wrote no gap
    assert len(messages) == 2 * TURNS - sum(conflicts.values())


def test_a_second_holder_waits_until_the_first_releases(store: Store) -> None:
    events: list[str] = []
    held = threading.Event()

    def first() -> None:
        with store.agent_lock("agent-x"):
            events.append("first in")
            held.set()
            time.sleep(0.2)
            events.append("first out")

    def second() -> None:
        held.wait()
        with store.agent_lock("agent-x"):
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert events == ["first in", "first out", "second in"]


def test_different_agents_do_not_wait_for_each_other(store: Store) -> None:
    with store.agent_lock("agent-a"):
        done = threading.Event()

        def other() -> None:
            with store.agent_lock("agent-b"):
                done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(timeout=5)
        thread.join()


def test_an_error_inside_releases_the_lock(store: Store) -> None:
    with pytest.raises(RuntimeError), store.agent_lock("agent-x"):
        raise RuntimeError("boom")
    acquired = threading.Event()

    def take() -> None:
        with store.agent_lock("agent-x"):
            acquired.set()

    thread = threading.Thread(target=take)
    thread.start()
    assert acquired.wait(timeout=5)
    thread.join()


def test_in_memory_sqlite_locks_within_the_process() -> None:
    with Store.open("sqlite://") as store:
        agent = new_agent(store)
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            try:
                for _i in range(20):
                    with store.agent_lock(agent.id):
                        last = store.get_agent(TENANT, agent.id).last_seq
                        store.commit_step(TENANT, agent.id, expected_last_seq=last, step=None, messages=[])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in "abc"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert store.get_agent(TENANT, agent.id).last_seq == 0


def test_lock_files_sit_beside_the_database(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "data.db")) as store, store.agent_lock("agent-x"):
        assert len(list((tmp_path / "data.db.locks").glob("*.lock"))) == 1


def test_advisory_keys_are_stable_signed_64_bit() -> None:
    key = advisory_key("agent-123")
    assert key == advisory_key("agent-123") != advisory_key("agent-124")
    assert -(2**63) <= key < 2**63


def test_a_killed_holder_releases_the_lock(store: Store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    held = ctx.Event()
    proc = ctx.Process(target=hold_until_killed, args=(store_url, "agent-x", held))
    proc.start()
    try:
        assert held.wait(timeout=60)
        acquired = threading.Event()

        def take() -> None:
            with store.agent_lock("agent-x"):
                acquired.set()

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        assert not acquired.wait(timeout=0.3)  # the child holds it
    finally:
        proc.kill()
        proc.join(timeout=30)
    assert acquired.wait(timeout=10)
    thread.join()
