"""kill -9 of `llm-persona serve` at random moments of turns sent over HTTP (in a model call, between
a tool call's step and the answer's step, mid SSE stream), restarting it each time: every acknowledged
message is in the history, no step is half-written, and the agent answers the next message."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
import pytest

from llm_persona.store import MessageRecord, Store
from tests.faults.client import MODES, Outcome, create_agent, send
from tests.faults.history import check_history
from tests.faults.procs import ServerProcess
from tests.faults.replies import ToolThenText

#: Model answers take this long (uniform), so a turn of two model calls lasts tens of milliseconds.
MODEL_DELAY = (0.005, 0.04)
#: A kill comes this long (uniform) after its anchor: the request, or the turn's first or second model call.
KILL_AFTER = (0.0, 0.05)

TOOL_STEP = "in the tool-call step"
ANSWER_STEP = "in the answer step"
MID_STREAM = ", mid stream"


async def kill_rounds(
    serve: ServerProcess, store: Store, responder: ToolThenText, rounds: int, seed: int
) -> None:
    rng = random.Random(seed)
    responder.delay = MODEL_DELAY
    await asyncio.to_thread(serve.start)
    acknowledged: dict[str, str] = {}
    landed: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=60) as client:
        agent_id = await create_agent(client, serve.url, "crash-test")
        for i in range(rounds):
            text = f"m-{i}"
            calls = responder.calls
            turn = asyncio.create_task(send(client, serve.url, agent_id, text, rng.choice(MODES)))
            # anchored on what the server is doing, so the kills land in turns however fast the machine is
            anchor = rng.choice((0, 1, 2))  # the request; its first model call (the tool call); its second
            while responder.calls < calls + anchor and not turn.done():
                await asyncio.sleep(0.001)
            await asyncio.sleep(rng.uniform(*KILL_AFTER))
            in_flight = not turn.done()
            serve.kill()
            outcome = await turn
            if outcome.acknowledged:
                acknowledged[text] = _acknowledged(outcome)
            else:
                assert outcome.transport_error is not None, outcome  # never an error answer
            history = check_history(store, agent_id, acknowledged=acknowledged)
            landed[_where(history, text, in_flight, outcome)] += 1

            await asyncio.to_thread(serve.start)
            check = f"check-{i}"  # the agent answers the next message
            acknowledged[check] = _acknowledged(
                await send(client, serve.url, agent_id, check, rng.choice(MODES))
            )

    check_history(store, agent_id, acknowledged=acknowledged)
    print(f"\n{rounds} kills of llm-persona serve on {store.dialect}: {dict(landed)}")
    assert landed["between turns"] < rounds / 2, landed  # most kills landed inside turns
    if rounds >= 50:
        for where in (TOOL_STEP, ANSWER_STEP, TOOL_STEP + MID_STREAM, ANSWER_STEP + MID_STREAM):
            assert landed[where] > 0, (where, landed)


def _acknowledged(outcome: Outcome) -> str:
    assert outcome.acknowledged, outcome
    assert outcome.stop_reason == "end_turn", outcome
    assert outcome.reply is not None
    return outcome.reply


def _where(history: list[MessageRecord], text: str, in_flight: bool, outcome: Outcome) -> str:
    """Where the kill landed, judged by what the client saw and what was committed."""
    if not in_flight:
        return "between turns"
    if outcome.acknowledged:
        return "after the answer was sent"
    stream = MID_STREAM if outcome.status == 200 else ""  # an SSE response had begun
    users = [i for i, m in enumerate(history) if m.role == "user" and m.content == text]
    if not users:
        return TOOL_STEP + stream  # the model was asked, or was calling the tool: nothing committed
    turn = history[users[0] + 1 :]
    if turn and turn[-1].role == "tool":
        return ANSWER_STEP + stream  # the tool step committed, the answer did not
    return "answer committed, not acknowledged"


async def test_kill_9_server_mid_turn(serve: ServerProcess, store: Store, responder: ToolThenText) -> None:
    await kill_rounds(serve, store, responder, rounds=15, seed=1)


@pytest.mark.slow
async def test_kill_9_server_mid_turn_many(
    serve: ServerProcess, store: Store, responder: ToolThenText
) -> None:
    await kill_rounds(serve, store, responder, rounds=100, seed=2)
