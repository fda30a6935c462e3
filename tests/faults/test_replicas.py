"""Two `llm-persona serve` replicas on one PostgreSQL database, hundreds of concurrent messages to one
agent spread over both: every one answered, the history totally ordered, no deadlock."""

from __future__ import annotations

import asyncio
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
