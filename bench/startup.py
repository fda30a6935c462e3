"""Cold start of `llm-persona serve` to its first answered health check, and its memory (RSS) after
many turns.

Run from the repository root: python -m bench.startup  [--starts 5] [--turns 10000] [--no-pg]

Start: the time from launching the process to the first 200 on GET /v1/health/, polled every
2 ms; median of --starts launches, each a new process (the files it reads may be in the OS cache:
"cold" is the process, not the disk). Baseline, measured the same way in the same run:
`python -m http.server`, the standard library's HTTP server, to its first 200.

Memory: one `llm-persona serve` on SQLite, its OpenAI provider on the fake OpenAI server (instant
answers); --turns messages over HTTP to --agents agents (round robin, 8 in flight), VmRSS read from
/proc/PID/status as they go; VmHWM is the peak. Baseline: the RSS of the same server just started.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time

import httpx

from bench._procs import (
    PG_DEFAULT,
    ROOT,
    Process,
    database,
    free_port,
    serve,
    serve_command,
    serve_env,
    sqlite_url,
    using_fake,
    wait_healthy,
)
from bench._report import Row, Table, show

START_GOAL_S = 1.0
RSS_GOAL_MIB = 100.0
IN_FLIGHT = 8


def start_seconds(command: list[str], url: str, env: dict[str, str] | None = None) -> float:
    """Seconds from launching `command` to the first 200 from `url`."""
    started = time.perf_counter()
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = wait_healthy(url, popen, path="")
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}: {popen.stderr.read() if popen.stderr else ''}") from exc
    finally:
        popen.terminate()
        try:
            popen.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.communicate()
    return answered - started


def exit_seconds(command: list[str]) -> float:
    """Seconds from launching `command` to its exit."""
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - started


def http_server_start() -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            folder,
        ]
        return start_seconds(command, f"http://127.0.0.1:{port}/")


def serve_start(db: str, personas: str | None = None) -> float:
    port = free_port()
    command = serve_command(port, db) + (["--personas", personas] if personas else [])
    return start_seconds(command, f"http://127.0.0.1:{port}/v1/health/", serve_env(None))


def cold_starts(starts: int, engines: tuple[str, ...], pg: str) -> list[Row]:
    new_sqlite, personas, existing, new_pg = [], [], [], []
    examples = str(ROOT / "examples" / "personas.yaml")
    with sqlite_url() as kept:
        serve_start(kept)  # migrate it once: later starts find it up to date
        for _ in range(starts):
            with sqlite_url() as fresh:
                new_sqlite.append(serve_start(fresh))
            with sqlite_url() as fresh:
                personas.append(serve_start(fresh, examples))
            existing.append(serve_start(kept))
            if "postgresql" in engines:
                with database("postgresql", pg) as fresh:
                    new_pg.append(serve_start(fresh))
    imports = [
        exit_seconds([sys.executable, "-c", "import llm_persona.server.app, llm_persona.store"])
        for _ in range(starts)
    ]
    rows = [
        Row.of("python -m http.server", [http_server_start() for _ in range(starts)], "s", baseline=True),
        Row.of("python -c 'import llm_persona.server.app, llm_persona.store'", imports, "s"),
        Row.of("serve, new SQLite database (migrations run)", new_sqlite, "s"),
        Row.of("serve, new SQLite database + examples/personas.yaml", personas, "s"),
        Row.of("serve, existing SQLite database", existing, "s"),
    ]
    if new_pg:
        rows.append(Row.of("serve, new PostgreSQL database (migrations run)", new_pg, "s"))
    return rows


async def send_turns(url: str, turns: int, agents: int, server: Process, marks: dict[int, float]) -> None:
    """`turns` messages round robin over `agents` new agents, IN_FLIGHT at once; RSS at the `marks`."""
    limits = httpx.Limits(max_connections=IN_FLIGHT + 1, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        ids = []
        for i in range(agents):
            answer = await http.post(
                "/v1/agents/",
                json={
                    "name": f"rss-{i}",
                    "model": "openai/fake-model",
                    "memory_blocks": [{"label": "human", "value": f"Name: User {i}"}],
                },
            )
            answer.raise_for_status()
            ids.append(answer.json()["id"])
        marks[0] = server.rss()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(turns):
            queue.put_nowait(n)
        done = 0

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                n = queue.get_nowait()
                body = {"messages": [{"role": "user", "content": f"message {n}: how is my order going?"}]}
                (await http.post(f"/v1/agents/{ids[n % agents]}/messages", json=body)).raise_for_status()
                done += 1
                if done in marks:
                    marks[done] = server.rss()

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def memory(turns: int, agents: int, fake: Process | None) -> list[Row]:
    marks = dict.fromkeys(sorted({1, turns // 10, turns // 4, turns // 2, turns}), 0.0)
    with using_fake(fake) as model_server, sqlite_url() as db, serve(db, model_server.url) as server:
        started = server.rss()
        asyncio.run(send_turns(server.url, turns, agents, server, marks))
        peak = server.rss("VmHWM")
    rows = [
        Row("just started (idle)", started, None, "MiB", baseline=True),
        Row(f"{agents} agents created", marks.pop(0), None, "MiB"),
    ]
    rows += [Row(f"after {n:,} turn{'s' if n > 1 else ''}", rss, None, "MiB") for n, rss in marks.items()]
    rows.append(Row("peak (VmHWM)", peak, None, "MiB"))
    return rows


def run(
    starts: int = 5,
    turns: int = 10_000,
    agents: int = 100,
    engines: tuple[str, ...] = ("sqlite", "postgresql"),
    pg: str = PG_DEFAULT,
    fake: Process | None = None,
) -> Table:
    table = Table("start and memory of llm-persona serve")
    starts_block = table.block(f"cold start to the first 200 on /v1/health/, {starts} start(s) each")
    starts_block.rows.extend(cold_starts(starts, engines, pg))
    rss_block = table.block(
        f"RSS of the server on SQLite, {turns:,} turns over HTTP to {agents} agents ({IN_FLIGHT} in flight)"
    )
    rss_block.rows.extend(memory(turns, agents, fake))
    start = next(r for r in starts_block.rows if r.label.startswith("serve, existing"))
    rss = max(r.median for r in rss_block.rows)
    table.notes.append(
        f"Goals: a start under {START_GOAL_S:g} s: median {start.median:.2f} s on an existing SQLite database "
        f"({'met' if start.median < START_GOAL_S else 'NOT met'}); under {RSS_GOAL_MIB:g} MiB RSS after "
        f"{turns:,} turns: peak {rss:.0f} MiB ({'met' if rss < RSS_GOAL_MIB else 'NOT met'})"
        + ("" if turns >= 10_000 else f"; only {turns:,} turns in this run, the goal speaks of 10,000")
        + "."
    )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.startup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a throwaway database is made)"
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args(argv)
    engines = ("sqlite",) if args.no_pg else ("sqlite", "postgresql")
    show(run(args.starts, args.turns, args.agents, engines, args.pg))


if __name__ == "__main__":
    main()
