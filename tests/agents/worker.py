"""A separate process that messages one agent: used by the crash and two-process tests.

    python -m tests.agents.worker URL AGENT_ID COUNT TAG [--slow]

It sends COUNT messages "TAG-i" and prints "done TAG" when all were answered. Its model is
instant and echoes the user's text; with --slow every reply first makes a memory_insert tool call
and each model call sleeps a little, so a kill -9 can land anywhere in a step.
"""

from __future__ import annotations

import asyncio
import sys

from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import FunctionModel, tool_call
from llm_persona.llm.types import ModelRequest
from llm_persona.store import Store


def reply(slow: bool):  # type: ignore[no-untyped-def]
    async def answer(request: ModelRequest):  # type: ignore[no-untyped-def]
        last = request.messages[-1]
        if slow:
            await asyncio.sleep(0.005)
        if slow and last.role == "user":
            return [tool_call("memory_insert", label="log", new_str=f"saw {last.content}")]
        user = next(m for m in reversed(request.messages) if m.role == "user")
        return f"echo {user.content}"

    return answer


async def main(url: str, agent_id: str, count: int, tag: str, slow: bool) -> None:
    model = FunctionModel(reply(slow))
    with Store.open(url) as store:
        runtime = AgentRuntime(store, models=lambda handle: model)
        for i in range(count):
            result = await runtime.send(agent_id, f"{tag}-{i}")
            assert result.stop_reason == "end_turn", result
    print(f"done {tag}", flush=True)


if __name__ == "__main__":
    url, agent_id, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    asyncio.run(main(url, agent_id, count, tag, "--slow" in sys.argv))
