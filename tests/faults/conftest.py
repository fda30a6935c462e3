"""Fault tests: real `llm-persona serve` processes killed with -9, replicas racing on one agent, a
misbehaving model, a full disk and a locked database.

Loops long enough to find rare interleavings are marked `slow` and run with `--run-slow`; without it,
shorter versions of the same tests run (the whole folder in about two minutes).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_persona.testing import FakeOpenAIServer
from tests.faults.procs import ServerProcess
from tests.faults.replies import ToolThenText
from tests.store.conftest import *  # noqa: F403  (store fixtures on both engines)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("slow") and not item.config.getoption("--run-slow", default=False):
        pytest.skip("slow: run with --run-slow")


@pytest.fixture
def responder() -> ToolThenText:
    return ToolThenText(random.Random(1234))


@pytest.fixture
def fake(responder: ToolThenText) -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI server: every user message gets a memory_insert call, then "echo <text>"."""
    with FakeOpenAIServer(responder=responder, record=False) as server:
        yield server


@pytest.fixture
def serve(store_url: str, fake: FakeOpenAIServer, tmp_path: Path) -> Iterator[ServerProcess]:
    """`llm-persona serve` on the test's database (not started yet); killed at the end."""
    server = ServerProcess(store_url, fake.base_url, tmp_path)
    try:
        yield server
    finally:
        server.kill()
