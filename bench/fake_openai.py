"""The project's fake OpenAI server as a process of its own, for benchmarks and for peers to call.

Run from the repository root: python -m bench.fake_openai  [--port 8399]

It prints its base URL (e.g. http://127.0.0.1:8399/v1) on the first line of stdout, then serves
until stopped. The model's name sets how long an answer takes: `fake-model` answers at once,
`fake-model-500ms` after 500 ms (any `-<N>ms` suffix works). So one fake serves every section of
`python -m bench`, and a peer pointed at it (e.g. a Letta server with OPENAI_BASE_URL set to this
URL, `--port` fixed so it can be configured beforehand) meets the same model as llm-persona.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from typing import Any

from llm_persona.testing import FakeOpenAIServer
from llm_persona.testing.replies import ReplyLike, delayed, echo

MODEL = "fake-model"
_LATENCY = re.compile(r"-(\d+)ms$")


def slow_model(model: str, latency: float) -> str:
    """The name (or handle) of `model` answering after `latency` seconds: fake-model -> fake-model-500ms."""
    return f"{_LATENCY.sub('', model)}-{round(latency * 1000)}ms"


def latency_of(model: str) -> float:
    """Seconds the fake waits before answering `model`."""
    found = _LATENCY.search(model)
    return int(found.group(1)) / 1000 if found else 0.0


def respond(body: dict[str, Any]) -> ReplyLike:
    """The default echo answer, after the latency the model's name asks for."""
    return delayed(latency_of(str(body.get("model", ""))), echo(body))


def make_server(port: int = 0, latencies: tuple[float, ...] = (0.5,)) -> FakeOpenAIServer:
    models = [MODEL, *(slow_model(MODEL, s) for s in latencies)]
    server = FakeOpenAIServer(responder=respond, record=False, models=models)
    server._http.port = port  # BackgroundHttpServer binds the port it holds when it starts
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fake_openai",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with make_server(args.port) as server:
        print(server.base_url, flush=True)
        stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
