"""Code the lock tests run in child processes (spawned: importable, no pytest)."""

from __future__ import annotations

import time
from typing import Any

from llm_persona.errors import ConflictError
from llm_persona.store import MessageRecord, StepRecord, Store


def append_turns(
    url: str, tenant: str, agent_id: str, name: str, turns: int, start: Any, use_lock: bool, out: Any
) -> None:
    """Append `turns` steps of one message, reading last_seq then writing it (a read-modify-write).

    Puts (name, conflicts) on `out`. The pause between read and write makes a race without the
    lock nearly certain.
    """
    conflicts = 0
    with Store.open(url) as store:
        start.wait(timeout=60)  # both processes are ready: now race
        for i in range(turns):
            try:
                if use_lock:
                    with store.agent_lock(agent_id):
                        _turn(store, tenant, agent_id, f"{name}-{i}")
                else:
                    _turn(store, tenant, agent_id, f"{name}-{i}")
            except ConflictError:
                conflicts += 1
    out.put((name, conflicts))


def _turn(store: Store, tenant: str, agent_id: str, text: str) -> None:
    last = store.get_agent(tenant, agent_id).last_seq
    time.sleep(0.002)
    store.commit_step(
        tenant,
        agent_id,
        expected_last_seq=last,
        step=StepRecord(model="m"),
        messages=[MessageRecord(role="user", content=text)],
    )


def hold_until_killed(url: str, agent_id: str, held: Any) -> None:
    """Take the agent's lock, set `held`, and sleep until the test kills this process."""
    with Store.open(url) as store, store.agent_lock(agent_id):
        held.set()
        time.sleep(600)
