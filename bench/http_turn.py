"""One message through HTTP: `POST /v1/agents/{id}/messages` against a server speaking Letta's API.

Run from the repository root: python -m bench.http_turn  [--messages 200] [--target URL --model HANDLE]

Without --target it starts llm-persona in this process (uvicorn on 127.0.0.1, SQLite in a temp
folder) with its model pointed at the project's fake OpenAI server (instant answers, the real wire
protocol), so the figure is our server, our runtime and the database. With --target it measures any
server that speaks the Letta /v1 API (e.g. a Letta 0.16 server) with the model handle you give; that
server must reach a model itself (point it at `python -m llm_persona.testing.fake_openai` for the
same instant fake). The baseline, measured in the same run against the same server, is
`GET /v1/health/`: the HTTP round trip alone.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@contextmanager
def local_server() -> Iterator[str]:
    """llm-persona on a free port, SQLite in a temp folder, OpenAI provider on the fake server."""
    import uvicorn

    from llm_persona.agents import AgentRuntime
    from llm_persona.server.app import create_app
    from llm_persona.store import Store
    from llm_persona.testing import FakeOpenAIServer

    with FakeOpenAIServer(record=False) as fake, tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENAI_BASE_URL"] = fake.base_url
        os.environ["OPENAI_API_KEY"] = "sk-bench"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        config = uvicorn.Config(
            create_app(AgentRuntime(store)), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            store.close()


def measure(url: str, model: str, count: int, api_key: str | None) -> dict[str, tuple[float, float]]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
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
        body = {"messages": [{"role": "user", "content": "hello"}]}
        for _ in range(5):  # warm up
            http.post(f"/v1/agents/{agent_id}/messages", json=body).raise_for_status()
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
        "message, first 25": stats(turns[:25]),
        f"message, all {count}": stats(turns),
        "message, last 25": stats(turns[-25:]),
        "baseline: GET /v1/health/": stats(health),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument(
        "--target", help="URL of a server speaking Letta's /v1 API (default: llm-persona here)"
    )
    parser.add_argument("--model", default="openai/fake-model", help="model handle the agent uses")
    parser.add_argument("--api-key", default=os.environ.get("LETTA_API_KEY"))
    args = parser.parse_args()

    if args.target:
        figures = measure(args.target, args.model, args.messages, args.api_key)
        who = args.target
    else:
        with local_server() as url:
            figures = measure(url, args.model, args.messages, None)
        who = "llm-persona (in process, SQLite, fake OpenAI server)"
    print(f"POST /v1/agents/{{id}}/messages, {args.messages} messages, {who}; times in ms\n")
    print(f"{'':32} {'median':>8} {'p99':>8} {'median x baseline':>18}")
    base = figures["baseline: GET /v1/health/"][0]
    for label, (median, p99) in figures.items():
        print(f"  {label:30} {median:8.2f} {p99:8.2f} {median / base:17.1f}x")


if __name__ == "__main__":
    main()
