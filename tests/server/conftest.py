"""Server fixtures: our app on a real socket (uvicorn in a thread) over a real store on both engines,
driven by the official letta-client in strict mode, with a scripted model behind every agent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from letta_client import Letta

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel
from llm_persona.server.app import create_app
from llm_persona.store import Store
from tests.store.conftest import *  # noqa: F403  (store fixtures on both engines)

MAYA = Persona(
    name="Maya",
    role="Customer Support Specialist",
    company="Acme Corp",
    capabilities=["Look up order status"],
    custom_sections={"customer": "The customer is {user_name}."},
    variables={"user_name": {"default": "there"}},
    labels=["production"],
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A server running in this process."""

    url: str
    runtime: AgentRuntime
    model: ScriptedModel
    store: Store
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(runtime: AgentRuntime, model: ScriptedModel, store: Store) -> Running:
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    return Running(f"http://127.0.0.1:{port}", runtime, model, store, server, thread)


@pytest.fixture
def registry() -> PersonaRegistry:
    r = PersonaRegistry()
    r.define(MAYA)
    return r


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel([])


@pytest.fixture
def running(store: Store, registry: PersonaRegistry, model: ScriptedModel) -> Iterator[Running]:
    runtime = AgentRuntime(store, personas=registry, models=lambda handle: model)
    started = start_server(runtime, model, store)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def client(running: Running) -> Iterator[Letta]:
    """The official SDK, strict: every response must validate against its types."""
    with Letta(
        base_url=running.url, api_key="unused", _strict_response_validation=True, max_retries=0
    ) as sdk:
        yield sdk
