"""Requests for one agent are queued, never interleaved: in one process and across processes; and a
kill -9 at any moment leaves the history as it was after the last whole step."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import FunctionModel
from llm_persona.store import Store
from tests.agents.worker import reply

ROOT = Path(__file__).resolve().parents[2]


def check_history(store: Store, agent_id: str) -> list:
    """Invariants of a consistent history; returns the messages."""
    messages = store.list_messages("default", agent_id, limit=100_000)
    agent = store.get_agent("default", agent_id)
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
    assert agent.last_seq == len(messages)
    for i, m in enumerate(messages):
        if m.role == "assistant" and m.tool_calls:
            results = [
                r.tool_call_id for r in messages[i + 1 : i + 1 + len(m.tool_calls)] if r.role == "tool"
            ]
            assert results == [c["id"] for c in m.tool_calls], f"tool call without its result at seq {m.seq}"
        if m.role == "user":
            # every user message is answered in the same turn, before the next user message
            rest = messages[i + 1 :]
            nxt = next((r for r in rest if r.role in ("user", "assistant") and not r.tool_calls), None)
            if nxt is not None:
                assert nxt.role == "assistant", (
                    f"user message at seq {m.seq} not answered before the next one"
                )
                assert nxt.content == f"echo {m.content}"
    return messages


def spawn(url: str, agent_id: str, count: int, tag: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.agents.worker", url, agent_id, str(count), tag, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_concurrent_sends_in_one_process_are_queued(store: Store) -> None:
    runtime = AgentRuntime(store, models=lambda handle: FunctionModel(reply(slow=False)))
    agent = await runtime.create_agent(name="q", model="scripted/echo")
    results = await asyncio.gather(*(runtime.send(agent.id, f"m-{i}") for i in range(20)))
    assert all(r.stop_reason == "end_turn" for r in results)
    messages = check_history(store, agent.id)
    assert len(messages) == 40
    # queued in arrival order
    assert [m.content for m in messages if m.role == "user"] == [f"m-{i}" for i in range(20)]


async def test_a_send_cancelled_while_it_waits_for_the_lock_leaves_the_lock_free(
    store: Store, store_url: str
) -> None:
    runtime = AgentRuntime(store, models=lambda handle: FunctionModel(reply(slow=False)))
    agent = await runtime.create_agent(name="c", model="scripted/echo")
    with Store.open(store_url) as other:  # another process's store: its lock is the one to wait for
        held = other.agent_lock(agent.id)
        held.__enter__()
        waiting = asyncio.create_task(runtime.send(agent.id, "never"))
        await asyncio.sleep(0.2)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        held.__exit__(None, None, None)
    # the cancelled send's worker thread got the lock after the other store let go; it gave it back
    result = await asyncio.wait_for(runtime.send(agent.id, "next"), timeout=10)
    assert result.messages[-1].content == "echo next"
    assert [m.content for m in store.list_messages("default", agent.id) if m.role == "user"] == ["next"]
    with Store.open(store_url) as third, third.agent_lock(agent.id):  # and nobody holds it now
        pass


async def test_two_processes_on_one_agent_are_serialised(store: Store, store_url: str) -> None:
    runtime = AgentRuntime(store, models=lambda handle: FunctionModel(reply(slow=False)))
    agent = await runtime.create_agent(name="two", model="scripted/echo")
    workers = [spawn(store_url, agent.id, 25, tag) for tag in ("a", "b")]
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert out.startswith("done")
    messages = check_history(store, agent.id)
    assert len(messages) == 100
    for tag in ("a", "b"):  # each process's messages in its own order
        assert [m.content for m in messages if m.role == "user" and m.content.startswith(tag)] == [
            f"{tag}-{i}" for i in range(25)
        ]


async def test_kill_9_mid_turn_never_leaves_a_half_written_step(store: Store, store_url: str) -> None:
    runtime = AgentRuntime(store, models=lambda handle: FunctionModel(reply(slow=True)))
    agent = await runtime.create_agent(
        name="crash", model="scripted/slow", memory_blocks=[{"label": "log", "value": ""}]
    )
    rng = random.Random(7)
    kills = 0
    for round_ in range(6):
        worker = spawn(store_url, agent.id, 1000, f"r{round_}", "--slow")
        deadline = time.monotonic() + 30
        while (
            len(store.list_messages("default", agent.id, limit=5, order="desc")) == 0
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        kills += 1
        messages = check_history(store, agent.id)
        # the block holds exactly the inserts whose tool results were committed
        inserted = [
            json.loads(m.content or "")["status"]
            for m in messages
            if m.role == "tool" and m.tool_name == "memory_insert"
        ]
        log = store.agent_block("default", agent.id, "log").value
        assert len([line for line in log.split("\n") if line]) == inserted.count("OK")
    assert kills == 6
    # the agent answers the next message after all those crashes
    result = await runtime.send(agent.id, "still there?")
    assert result.stop_reason == "end_turn"
    assert result.messages[-1].content == "echo still there?"
