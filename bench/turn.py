"""One agent turn in our code: a user message, one call to an instant model, the step committed.

Run from the repository root: python -m bench.turn  [--turns N] [--pg URL] [--no-pg]

For each engine (SQLite file; PostgreSQL at --pg, default the local test server, in a throwaway
database) it times `AgentRuntime.send()` with a model that answers at once, so the figure is our
code and the database: median and p99 over all N turns, the first tenth and the last tenth (the
history then 2N messages long), next to the baseline measured in the same run: the bare
`Store.commit_step` of the same two messages. The model returns a whole response with fixed usage,
so the test double's own work does not grow with the history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench._procs import PG_DEFAULT, database
from bench._report import Row, Table, show
from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import FunctionModel
from llm_persona.llm.types import ModelResponse, Usage
from llm_persona.store import MessageRecord, StepRecord, Store

ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
GOAL_MS = 4.0


async def measure(url: str, turns: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each of `turns` turns, and of each of `turns` bare commit_step calls."""
    registry = PersonaRegistry()
    registry.define(
        Persona(name="Maya", role="Support", capabilities=["Refunds"], custom_sections={"u": "User: {u}"})
    )
    # A whole ModelResponse: given plain text, the scripted model would estimate usage by summing the
    # length of every message in the context, a cost of the test double that grows with the history.
    answer = ModelResponse(
        text="ok", tool_calls=[], usage=Usage(100, 1), finish_reason="stop", model="instant"
    )
    model = FunctionModel(lambda request: answer)
    with Store.open(url) as store:
        runtime = AgentRuntime(store, personas=registry, models=lambda handle: model)
        agent = await runtime.create_agent(
            name="bench",
            persona="Maya",
            persona_vars={"u": "Bo"},
            model="scripted/instant",
            memory_blocks=[{"label": "human", "value": "Name: Bo"}],
        )
        for _ in range(5):  # warm up
            await runtime.send(agent.id, "warm up")
        timings = []
        for i in range(turns):
            started = time.perf_counter()
            await runtime.send(agent.id, f"message {i}")
            timings.append((time.perf_counter() - started) * 1000)

        baseline_agent = await runtime.create_agent(name="baseline", model="scripted/instant")
        last, base = 0, []
        for i in range(turns):
            messages = [
                MessageRecord(role="user", content=f"m{i}"),
                MessageRecord(role="assistant", content="ok"),
            ]
            started = time.perf_counter()
            stored = store.commit_step(
                "default",
                baseline_agent.id,
                expected_last_seq=last,
                step=StepRecord(agent_id=baseline_agent.id),
                messages=messages,
            )
            base.append((time.perf_counter() - started) * 1000)
            last = stored[-1].seq
    return timings, base


def run(
    turns: int = 1000, engines: tuple[str, ...] = ("sqlite", "postgresql"), pg: str = PG_DEFAULT
) -> Table:
    table = Table(f"one turn in our code, library call (instant model), {turns:,} turns per engine")
    for engine in engines:
        with database(engine, pg) as url:
            timings, base = asyncio.run(measure(url, turns))
        tenth = max(1, turns // 10)
        block = table.block(ENGINES[engine])
        block.add(
            Row.of(f"turn, first {tenth:,} (history under {2 * tenth + 12:,} messages)", timings[:tenth])
        )
        block.add(Row.of(f"turn, all {turns:,}", timings))
        block.add(Row.of(f"turn, last {tenth:,} (history {2 * (turns - tenth) + 10:,}+)", timings[-tenth:]))
        block.add(Row.of("commit_step alone", base, baseline=True))
        if engine == "sqlite":
            median = statistics.median(timings)
            drift = statistics.median(timings[-tenth:]) / statistics.median(timings[:tenth])
            table.notes.append(
                f"Goal: a median under {GOAL_MS:g} ms on SQLite, flat as the history grows: median "
                f"{median:.2f} ms ({'met' if median < GOAL_MS else 'NOT met'}); the last {tenth:,} turns take "
                f"{drift:.2f}x the first {tenth:,}."
            )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.turn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a throwaway database is made)"
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args(argv)
    show(run(args.turns, ("sqlite",) if args.no_pg else ("sqlite", "postgresql"), args.pg))


if __name__ == "__main__":
    main()
