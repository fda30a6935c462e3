"""One message through HTTP: `POST /v1/agents/{id}/messages` against a server speaking Letta's API.

Run from the repository root: python -m bench.http_turn  [--messages 500] [--no-pg]
                                                         [--target URL --model HANDLE [--api-key KEY]]

It starts `llm-persona serve` in a process of its own (as in production) on SQLite, then on
PostgreSQL (a throwaway database), with its OpenAI provider pointed at the project's fake OpenAI
server (`python -m bench.fake_openai`, instant answers, the real wire protocol, in a third
process), so the figure is our server, our runtime and the database. With --target it also
measures another server that speaks the Letta /v1 API (e.g. a Letta 0.16 server) with the model
handle you give, and prints llm-persona / peer ratios; that server must reach a model itself
(point it at `python -m bench.fake_openai --port 8399` for the same instant fake). The baseline,
measured in the same run against the same server, is `GET /v1/health/`: the HTTP round trip alone.
"""

from __future__ import annotations

import argparse
import os
import time

import httpx

from bench._procs import PG_DEFAULT, Peer, Process, database, serve, using_fake
from bench._report import Block, Row, Table, median_p99, show
from bench.turn import ENGINES

MODEL = "openai/fake-model"


def measure(
    url: str, model: str, count: int, headers: dict[str, str] | None = None
) -> dict[str, list[float]]:
    """Milliseconds of `count` messages to one new agent, each followed by a GET /v1/health/."""
    with httpx.Client(base_url=url, headers=headers or {}, timeout=120) as http:
        created = http.post(
            "/v1/agents/",
            json={
                "name": f"bench-{time.time_ns()}",
                "model": model,
                "embedding": "openai/text-embedding-3-small",
                "memory_blocks": [{"label": "human", "value": "Name: Bench"}],
            },
        )
        created.raise_for_status()
        agent_id = created.json()["id"]
        for _ in range(5):  # warm up
            http.post(
                f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": "hello"}]}
            ).raise_for_status()
        turns, health = [], []
        for i in range(count):
            started = time.perf_counter()
            answer = http.post(
                f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": f"m{i}"}]}
            )
            turns.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            started = time.perf_counter()
            http.get("/v1/health/").raise_for_status()
            health.append((time.perf_counter() - started) * 1000)
        http.delete(f"/v1/agents/{agent_id}")
    return {
        "message, first 25": turns[:25],
        f"message, all {count:,}": turns,
        "message, last 25": turns[-25:],
        "GET /v1/health/": health,
    }


def _block(table: Table, heading: str, samples: dict[str, list[float]]) -> Block:
    block = table.block(heading)
    for label, values in samples.items():
        block.add(Row.of(label, values, baseline=label.startswith("GET")))
    return block


def compare(
    table: Table,
    ours: dict[str, dict[str, list[float]]],
    peer: dict[str, list[float]],
    rss: dict[str, float] | None = None,
) -> None:
    """A block of llm-persona / peer ratios (median and p99) for each of our engines; with `rss`
    (engine or "peer" -> MiB), the ratio of the servers' RSS after the section too."""
    block = table.block("llm-persona / peer (below 1: llm-persona is faster, or smaller)")
    for engine, samples in ours.items():
        for label, values in samples.items():
            if label in peer:
                ours_median, ours_p99 = median_p99(values)
                peer_median, peer_p99 = median_p99(peer[label])
                block.add(Row(f"{engine}: {label}", ours_median / peer_median, ours_p99 / peer_p99, "x"))
        if rss and engine in rss and "peer" in rss:
            block.add(Row(f"{engine}: RSS after the section", rss[engine] / rss["peer"], None, "x"))


def run(
    messages: int = 500,
    engines: tuple[str, ...] = ("sqlite", "postgresql"),
    pg: str = PG_DEFAULT,
    fake: Process | None = None,
    peer: Peer | None = None,
) -> Table:
    table = Table(
        f"one turn through HTTP: POST /v1/agents/{{id}}/messages, {messages:,} messages, one at a time"
    )
    ours: dict[str, dict[str, list[float]]] = {}
    rss: dict[str, float] = {}  # engine, or "peer" -> VmRSS in MiB after its messages
    with using_fake(fake) as model_server:
        for engine in engines:
            with database(engine, pg) as db, serve(db, model_server.url) as server:
                ours[ENGINES[engine]] = samples = measure(server.url, MODEL, messages)
                rss[ENGINES[engine]] = server.rss()
            _block(table, f"llm-persona serve, {ENGINES[engine]}, model {MODEL} (instant fake)", samples)
    if peer is not None:
        peer_samples = measure(peer.url, peer.model, messages, peer.headers)
        _block(table, f"{peer.name}, model {peer.model}", peer_samples)
        if peer.process is not None:
            rss["peer"] = peer.process.rss()
    block = table.block(f"RSS of the server after the section (VmRSS; {messages + 5:,} messages, one agent)")
    for name, mib in rss.items():
        label = peer.name if name == "peer" and peer is not None else f"llm-persona serve, {name}"
        block.add(Row(label, mib, None, "MiB"))
    if peer is not None:
        compare(table, ours, peer_samples, rss)
    table.notes.append(
        "Server, fake model and this client each run in a process of their own. Baseline: GET /v1/health/ "
        "on the same server in the same run, the HTTP round trip alone."
    )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_turn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a throwaway database is made)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--target", help="URL of another server speaking Letta's /v1 API, measured too")
    parser.add_argument("--model", default=MODEL, help="model handle the peer's agents use")
    parser.add_argument("--api-key", default=os.environ.get("LETTA_API_KEY"), help="the peer's API key")
    parser.add_argument("--peer-pid", type=int, help="the peer's server process here: RSS and CPU are read")
    args = parser.parse_args(argv)
    peer = Peer(args.target, args.model, args.api_key, args.peer_pid) if args.target else None
    show(run(args.messages, ("sqlite",) if args.no_pg else ("sqlite", "postgresql"), args.pg, peer=peer))


if __name__ == "__main__":
    main()
