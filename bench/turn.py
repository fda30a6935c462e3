"""One agent turn in our code: a user message, one call to an instant model, the step committed.

Run from the repository root: python -m bench.turn  [--turns N] [--pg URL] [--no-pg]

For each engine (SQLite file; PostgreSQL at --pg, default the local test server) it times
`AgentRuntime.send()` with a model that answers at once, so the figure is our code and the database:
median and p99 over N turns, early (history under 50 messages) and late (after N turns), next to
the baseline measured in the same run: the bare `Store.commit_step` of the same two messages.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import FunctionModel
from llm_persona.store import MessageRecord, StepRecord, Store

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def measure(url: str, turns: int) -> dict[str, tuple[float, float]]:
    registry = PersonaRegistry()
    registry.define(
        Persona(name="Maya", role="Support", capabilities=["Refunds"], custom_sections={"u": "User: {u}"})
    )
    model = FunctionModel(lambda request: "ok")
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
    return {
        "turn, first 25": stats(timings[:25]),
        f"turn, all {turns}": stats(timings),
        f"turn, last 25 (history {2 * turns}+)": stats(timings[-25:]),
        "baseline: commit_step alone": stats(base),
    }


def pg_database(url: str) -> tuple[str, object]:
    """A throwaway database on the server at `url`; returns its URL and a dropper."""
    admin = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    name = f"llm_persona_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    return target, drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a throwaway database is made)"
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    engines: list[tuple[str, dict[str, tuple[float, float]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engines.append(("SQLite", asyncio.run(measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.turns))))
    if not args.no_pg:
        url, drop = pg_database(args.pg)
        try:
            engines.append(("PostgreSQL", asyncio.run(measure(url, args.turns))))
        finally:
            drop()  # type: ignore[operator]

    print(f"one turn in our code (instant model), {args.turns} turns per engine; times in ms\n")
    print(f"{'':40} {'median':>8} {'p99':>8} {'median x baseline':>18}")
    for engine, figures in engines:
        print(engine)
        base = figures["baseline: commit_step alone"][0]
        for label, (median, p99) in figures.items():
            print(f"  {label:38} {median:8.2f} {p99:8.2f} {median / base:17.1f}x")


if __name__ == "__main__":
    main()
