"""Two `llm-persona serve` replicas on one PostgreSQL database, hundreds of concurrent messages to one
agent spread over both: every one answered, the history totally ordered, no deadlock."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llm_persona.store import DEFAULT_TENANT, Store
from llm_persona.testing import FakeOpenAIServer
from tests.faults.client import MODES, create_agent, send
from tests.faults.history import check_history
from tests.faults.procs import ServerProcess
from tests.faults.replies import expected_reply
from tests.store.conftest import _empty_pg


def time_limit(messages: int) -> float:
    """Far more than the turns need (about 10 s for 200 on two cores): a deadlock fails, never hangs."""
    return 60 + 0.2 * messages


@pytest.fixture
def pg_url(pg_migrated: str) -> Iterator[str]:
    _empty_pg(pg_migrated)
    yield pg_migrated
    _empty_pg(pg_migrated)


@pytest.mark.parametrize("messages", [200, pytest.param(1000, marks=pytest.mark.slow)])
async def test_two_replicas_serialise_concurrent_messages_to_one_agent(
    pg_url: str, fake: FakeOpenAIServer, tmp_path: Path, messages: int
) -> None:
    replicas = [ServerProcess(pg_url, fake.base_url, tmp_path / name) for name in ("a", "b")]
    for replica in replicas:
        replica.workdir.mkdir()
    try:
        await asyncio.gather(*(asyncio.to_thread(r.start) for r in replicas))
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=time_limit(messages), limits=limits) as client:
            agent_id = await create_agent(client, replicas[0].url, "busy")
            texts = [f"m-{i}" for i in range(messages)]
            started = time.monotonic()
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        send(client, replicas[i % 2].url, agent_id, text, MODES[i % 3])
                        for i, text in enumerate(texts)
                    )
                ),
                time_limit(messages),
            )
            elapsed = time.monotonic() - started
        for text, outcome in zip(texts, outcomes, strict=True):
            assert outcome.acknowledged, outcome
            assert (outcome.stop_reason, outcome.reply) == ("end_turn", expected_reply(text))
    finally:
        for replica in replicas:
            replica.kill()

    with Store.open(pg_url, migrate=False) as store:
        acknowledged = {text: expected_reply(text) for text in texts}
        # one turn after another: user, tool call, tool result, answer; never interleaved (summaries
        # of older messages, each a step of its own, come between turns once the window fills up)
        history = [
            m for m in check_history(store, agent_id, acknowledged=acknowledged) if m.role != "summary"
        ]
        assert len(history) == 4 * messages
        for start in range(0, len(history), 4):
            user, call, result, answer = history[start : start + 4]
            assert (user.role, call.role, result.role, answer.role) == (
                "user",
                "assistant",
                "tool",
                "assistant",
            )
            assert result.tool_call_id == call.tool_calls[0]["id"]
            assert answer.content == expected_reply(user.content or "")
        assert sorted(m.content or "" for m in history if m.role == "user") == sorted(texts)
        steps = [s for s in store.list_steps(DEFAULT_TENANT, agent_id) if s.stop_reason != "summarised"]
        assert len(steps) == 2 * messages
    print(f"\n{messages} concurrent messages over two replicas: {elapsed:.1f} s")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == str(pid):
                found.append(int(entry))
    return found


async def test_one_serve_with_two_workers_answers_everyone_and_keeps_each_history_ordered(
    store_url: str, fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    """`serve --workers 2`: two processes share the port and the database (SQLite or PostgreSQL);
    messages to one agent queue across them, and other agents are served alongside."""
    server = ServerProcess(store_url, fake.base_url, tmp_path / "w", "--workers", "2")
    server.workdir.mkdir()
    messages = 60
    try:
        await asyncio.to_thread(server.start)
        assert server.process is not None
        assert len(children(server.process.pid)) >= 2  # the workers
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(timeout=time_limit(messages), limits=limits) as client:
            busy = await create_agent(client, server.url, "busy")
            others = [await create_agent(client, server.url, f"other-{i}") for i in range(3)]
            sends = [send(client, server.url, busy, f"m-{i}", MODES[i % 3]) for i in range(messages)]
            sends += [send(client, server.url, agent_id, "hello", MODES[0]) for agent_id in others]
            outcomes = await asyncio.wait_for(asyncio.gather(*sends), time_limit(messages))
        assert all(o.acknowledged and o.stop_reason == "end_turn" for o in outcomes), outcomes
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()
    with Store.open(store_url, migrate=False) as store:
        acknowledged = {f"m-{i}": expected_reply(f"m-{i}") for i in range(messages)}
        history = [m for m in check_history(store, busy, acknowledged=acknowledged) if m.role != "summary"]
        assert len(history) == 4 * messages
        for agent_id in others:
            assert len(check_history(store, agent_id, acknowledged={"hello": expected_reply("hello")})) == 4
