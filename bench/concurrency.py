"""Many conversations at once: 1,000 agents, each sent one message at the same moment, against a
fake OpenAI server that answers after 500 ms. The ideal is the fake's latency alone.

Run from the repository root: python -m bench.concurrency  [--conversations 1000] [--rounds 3]
    [--latency 0.5] [--no-pg] [--no-library] [--target URL --model HANDLE [--api-key KEY]]

Targets, each measured the same way (N agents made first, then `rounds` rounds of one message to
every agent at once; latency per message, wall time for all, throughput):

- the fake alone: the same client sends the same N requests straight to the fake (model
  `fake-model-500ms`). This is what the client and the fake can do; if it is near the ideal, the
  client is not what limits the other figures.
- `llm-persona serve` in a process of its own, on SQLite, then on PostgreSQL, its OpenAI provider
  pointed at the fake (a third process). CPU time is read from /proc for the server's event-loop
  thread, its other threads (the store runs there), this client and the fake, and set against the
  CPU one message costs when sent one at a time: that says where the time goes.
- the library, no HTTP: `AgentRuntime.send()` N times at once in this process, with the store's
  transactions and worker-thread hand-offs timed (write-lock wait, write held, reads).
- a peer (--target): any server speaking Letta's /v1 API; its agents use `--model` with the fake's
  latency suffix (openai/fake-model -> openai/fake-model-500ms), so point it at
  `python -m bench.fake_openai --port 8399` beforehand.

The client is httpx.AsyncClient, one per 20 conversations: one client for all 1,000 cost 12-20 ms
of CPU per request here, against 1-2 ms (its connection pool rescans every connection it holds on
each request), which would make the client, not the server, the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench._procs import (
    PG_DEFAULT,
    Peer,
    PgWatch,
    Process,
    cpu_seconds,
    database,
    machine_cpu,
    serve,
    server_cpu,
    thread_cpu,
    using_fake,
)
from bench._report import Table, show
from bench.concurrency_report import Round, Target, report
from bench.fake_openai import MODEL as FAKE_MODEL
from bench.fake_openai import slow_model
from bench.turn import ENGINES

CONVERSATIONS_PER_CLIENT = 20
CREATE_AT_ONCE = 8
SERIAL_MESSAGES = 100
#: Server processes in the `serve --workers` target (this machine has 2 cores).
WORKERS = 2


# --- clients ----------------------------------------------------------------------------------------


class Clients:
    """httpx.AsyncClients, each for `CONVERSATIONS_PER_CLIENT` conversations: small connection pools."""

    def __init__(self, url: str, conversations: int, headers: dict[str, str] | None = None) -> None:
        # Idle connections are dropped before uvicorn drops them (after 5 s): reusing one the server
        # is closing at that moment fails with a ReadError that is no fault of either side.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=2)
        count = max(1, math.ceil(conversations / CONVERSATIONS_PER_CLIENT))
        self.all = [
            httpx.AsyncClient(base_url=url, headers=headers or {}, timeout=600, limits=limits)
            for _ in range(count)
        ]

    def __getitem__(self, conversation: int) -> httpx.AsyncClient:
        return self.all[conversation % len(self.all)]

    async def aclose(self) -> None:
        for client in self.all:
            await client.aclose()


Snapshot = Callable[[], dict[str, float]]


class HealthProbe:
    """GET /v1/health/ every 50 ms from a thread of its own (so this process's busy event loop does not
    delay it) while the block runs: how long the server makes a trivial request wait."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.seconds: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=600) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    http.get("/v1/health/").raise_for_status()
                except httpx.HTTPError:
                    pass
                else:
                    self.seconds.append(time.perf_counter() - started)
                self._stop.wait(0.05)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def one_round(sends: list[Callable[[], Awaitable[None]]], snapshot: Snapshot) -> Round:
    """Start every send at once; time each, and the CPU each process used meanwhile."""
    failures: list[str] = []

    async def timed(send: Callable[[], Awaitable[None]]) -> float | None:
        started = time.perf_counter()
        try:
            await send()
        except httpx.HTTPStatusError as exc:
            failures.append(f"HTTP {exc.response.status_code} {exc.response.text[:300]}")
            return None
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            return None
        return time.perf_counter() - started

    before, machine_before = snapshot(), machine_cpu()
    started = time.perf_counter()
    results = await asyncio.gather(*(timed(send) for send in sends))
    wall = time.perf_counter() - started
    after, machine_after = snapshot(), machine_cpu()
    cpu = {who: after[who] - before[who] for who in before}
    busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1e-9)
    return Round(wall, [r for r in results if r is not None], cpu, busy, failures)


def snapshots(server: Process | None, fake: Process) -> Snapshot:
    def snapshot() -> dict[str, float]:
        figures = {"client": cpu_seconds(), "fake": fake.cpu()}
        if server is not None:
            figures["server loop"], figures["server threads"] = server_cpu(server.pid)
        return figures

    return snapshot


# --- targets ----------------------------------------------------------------------------------------


async def fake_alone(fake: Process, conversations: int, rounds: int, model: str) -> Target:
    """The same client, the same N requests, straight to the fake: what client + fake can do."""
    target = Target("the fake alone, same client")
    clients = Clients(fake.url, conversations)
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}

    def send(i: int) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            (await clients[i].post("/chat/completions", json=body)).raise_for_status()

        return go

    try:
        for _ in range(rounds):
            target.rounds.append(
                await one_round([send(i) for i in range(conversations)], snapshots(None, fake))
            )
    finally:
        await clients.aclose()
    return target


def agent_body(name: str, model: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": model,
        "embedding": "openai/text-embedding-3-small",
        "memory_blocks": [{"label": "human", "value": "Name: Bench"}],
    }


async def over_http(
    name: str,
    url: str,
    model: str,
    fast_model: str,
    conversations: int,
    rounds: int,
    fake: Process,
    server: Process | None = None,
    headers: dict[str, str] | None = None,
    pg_db: str | None = None,
    peer: bool = False,
) -> Target:
    """N agents on the server at `url`, then `rounds` rounds of one message to each, all at once.
    `server`: its process, for CPU (and its log, if we started it); `peer`: delete the agents after."""
    target = Target(name)
    clients = Clients(url, conversations, headers)
    tag = time.time_ns()
    gate = asyncio.Semaphore(CREATE_AT_ONCE)

    async def create(i: int, handle: str) -> str:
        async with gate:
            answer = await clients[i].post("/v1/agents/", json=agent_body(f"bench-{tag}-{i}", handle))
            answer.raise_for_status()
            return str(answer.json()["id"])

    def send(i: int, agent_id: str) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            message = {"messages": [{"role": "user", "content": f"hello from conversation {i}"}]}
            (await clients[i].post(f"/v1/agents/{agent_id}/messages", json=message)).raise_for_status()

        return go

    snapshot = snapshots(server, fake)
    ids: list[str] = []
    try:
        # The first agent alone: on a fresh PostgreSQL database, agents created at once race to
        # insert the built-in tools and all but one get a 409 (uq_tools_tenant_name).
        ids = [await create(0, model)]
        ids += await asyncio.gather(*(create(i, model) for i in range(1, conversations)))
        if server is not None:  # CPU of one message at a time, for comparison (instant model)
            serial = await create(conversations, fast_model)
            ids.append(serial)
            for _ in range(5):
                await send(0, serial)()  # warm up
            before = snapshot()
            for _ in range(SERIAL_MESSAGES):
                await send(0, serial)()
            after = snapshot()
            target.serial_cpu = {k: (after[k] - before[k]) / SERIAL_MESSAGES for k in before}
        with HealthProbe(url, headers) as idle:
            await asyncio.sleep(1)
        target.health_idle = idle.seconds
        with watch(pg_db) as peak, HealthProbe(url, headers) as busy:
            for _ in range(rounds):
                target.rounds.append(
                    await one_round([send(i, a) for i, a in enumerate(ids[:conversations])], snapshot)
                )
        target.health_busy = busy.seconds
        target.pg_peak = peak.peak if pg_db else None
        if server is not None:
            target.server_errors = server.errors()
    finally:
        if peer and ids:  # leave it as we found it, CREATE_AT_ONCE at a time (1,000 at once can fail)

            async def delete(i: int, agent_id: str) -> None:
                async with gate:
                    await clients[i].delete(f"/v1/agents/{agent_id}")

            await asyncio.gather(*(delete(i, a) for i, a in enumerate(ids)))
        await clients.aclose()
    return target


class _NoWatch:
    peak = 0


@contextmanager
def watch(pg_db: str | None) -> Iterator[PgWatch | _NoWatch]:
    """Peak connections to `pg_db` while the block runs (nothing for SQLite or a peer)."""
    if pg_db is None:
        yield _NoWatch()
        return
    with PgWatch(pg_db) as watching:
        yield watching


@contextmanager
def timed_store(store: Any, record: dict[str, list[float]]) -> Iterator[None]:
    """Time the store's write transactions (lock wait, held) and reads, and the worker-thread
    hand-offs of `asyncio.to_thread`, for as long as the block runs. Bench-only instrumentation."""
    write, read, to_thread = store._write, store._read, asyncio.to_thread

    @contextmanager
    def timed_write() -> Iterator[Any]:
        started = time.perf_counter()
        with write() as conn:
            locked = time.perf_counter()
            record["write transaction: wait for the write lock"].append(locked - started)
            yield conn
        record["write transaction: held"].append(time.perf_counter() - locked)

    @contextmanager
    def timed_read() -> Iterator[Any]:
        started = time.perf_counter()
        with read() as conn:
            yield conn
        record["read transaction"].append(time.perf_counter() - started)

    async def timed_to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        queued = time.perf_counter()

        def run() -> Any:
            record["asyncio.to_thread: wait for a worker thread"].append(time.perf_counter() - queued)
            return func(*args, **kwargs)

        return await to_thread(run)

    for key in (
        "write transaction: wait for the write lock",
        "write transaction: held",
        "read transaction",
        "asyncio.to_thread: wait for a worker thread",
    ):
        record[key] = []
    store._write, store._read, asyncio.to_thread = timed_write, timed_read, timed_to_thread
    try:
        yield
    finally:
        store._write, store._read, asyncio.to_thread = write, read, to_thread


async def library(db: str, engine: str, conversations: int, rounds: int, fake: Process, model: str) -> Target:
    """`AgentRuntime.send()` N times at once in this process: our code without HTTP."""
    from llm_persona.agents import AgentRuntime
    from llm_persona.llm.base import Model
    from llm_persona.llm.providers import get_model
    from llm_persona.store import Store

    target = Target(f"library, {ENGINES[engine]}: AgentRuntime.send(), no HTTP", via_http=False)
    models: dict[str, Model] = {}

    def resolve(handle: str) -> Model:
        if handle not in models:
            models[handle] = get_model(handle, base_url=fake.url, api_key="sk-bench")
        return models[handle]

    def snapshot() -> dict[str, float]:
        loop, threads = thread_cpu(os.getpid())
        return {"loop": loop, "threads": threads, "fake": fake.cpu()}

    with Store.open(db) as store:
        runtime = AgentRuntime(store, models=resolve)
        ids = [
            (
                await runtime.create_agent(
                    name=f"bench-{i}", model=model, memory_blocks=[{"label": "human", "value": "Name: Bench"}]
                )
            ).id
            for i in range(conversations)
        ]

        def send(i: int, agent_id: str) -> Callable[[], Awaitable[None]]:
            async def go() -> None:
                result = await runtime.send(agent_id, f"hello from conversation {i}")
                if result.error:
                    raise RuntimeError(result.error)

            return go

        try:
            with watch(db if engine == "postgresql" else None) as peak:
                for number in range(rounds):
                    record: dict[str, list[float]] = {}
                    with timed_store(store, record):
                        target.rounds.append(
                            await one_round([send(i, a) for i, a in enumerate(ids)], snapshot)
                        )
                    if number == rounds - 1:
                        target.store = record
            target.pg_peak = peak.peak if engine == "postgresql" else None
        finally:
            for instance in models.values():
                await instance.aclose()
    return target


# --- the section ------------------------------------------------------------------------------------


def run(
    conversations: int = 1000,
    rounds: int = 3,
    latency: float = 0.5,
    engines: tuple[str, ...] = ("sqlite", "postgresql"),
    pg: str = PG_DEFAULT,
    fake: Process | None = None,
    peer: Peer | None = None,
    library_engines: tuple[str, ...] | None = None,
) -> Table:
    """`library_engines`: where to run the in-process library round (default: `engines`; () for none)."""
    model = slow_model(FAKE_MODEL, latency)
    targets: list[Target] = []
    with using_fake(fake) as model_server:
        targets.append(asyncio.run(fake_alone(model_server, conversations, rounds, model)))
        # One process per engine, then SQLite with --workers: a process is bound to one core by its GIL.
        setups = [(engine, 1) for engine in engines] + ([("sqlite", WORKERS)] if "sqlite" in engines else [])
        for engine, workers in setups:
            extra = ("--workers", str(workers)) if workers > 1 else ()
            with database(engine, pg) as db, serve(db, model_server.url, *extra) as server:
                option = f" --workers {workers}" if workers > 1 else ""
                target = asyncio.run(
                    over_http(
                        f"llm-persona serve{option}, {ENGINES[engine]}",
                        server.url,
                        f"openai/{model}",
                        f"openai/{FAKE_MODEL}",
                        conversations,
                        rounds,
                        model_server,
                        server,
                        pg_db=db if engine == "postgresql" else None,
                    )
                )
                target.processes = workers
                targets.append(target)
        for engine in engines if library_engines is None else library_engines:
            with database(engine, pg) as db:
                targets.append(
                    asyncio.run(library(db, engine, conversations, rounds, model_server, f"openai/{model}"))
                )
        if peer is not None:
            peer_model = slow_model(peer.model, latency)
            targets.append(
                asyncio.run(
                    over_http(
                        f"{peer.name} ({peer_model})",
                        peer.url,
                        peer_model,
                        peer.model,
                        conversations,
                        rounds,
                        model_server,
                        peer.process,
                        headers=peer.headers,
                        peer=True,
                    )
                )
            )
    return report(targets, conversations, rounds, latency, peer, pg if "postgresql" in engines else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.concurrency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake waits before answering")
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a throwaway database is made)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-library", action="store_true", help="skip the in-process library run")
    parser.add_argument("--target", help="URL of another server speaking Letta's /v1 API, measured too")
    parser.add_argument("--model", default=f"openai/{FAKE_MODEL}", help="model handle the peer's agents use")
    parser.add_argument("--api-key", default=os.environ.get("LETTA_API_KEY"), help="the peer's API key")
    parser.add_argument("--peer-pid", type=int, help="the peer's server process here: RSS and CPU are read")
    args = parser.parse_args(argv)
    peer = Peer(args.target, args.model, args.api_key, args.peer_pid) if args.target else None
    engines = ("sqlite",) if args.no_pg else ("sqlite", "postgresql")
    show(
        run(
            args.conversations,
            args.rounds,
            args.latency,
            engines,
            args.pg,
            peer=peer,
            library_engines=() if args.no_library else None,
        )
    )


if __name__ == "__main__":
    main()
