"""Fixtures for the model layer: fake provider servers on real sockets, and models pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from llm_persona.llm import Model, RetryPolicy, StreamEvent, get_model
from llm_persona.testing import FakeAnthropicServer, FakeOpenAIServer


async def drain(events: AsyncIterator[StreamEvent], into: list[StreamEvent]) -> None:
    """Read a stream to its end, keeping what arrived in `into` (also when it fails midway)."""
    async for event in events:
        into.append(event)


#: Backoff short enough that retry tests take milliseconds.
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=0.05)


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provider settings from the environment must not leak into tests (nor send them anywhere)."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
async def openai_model(fake_openai: FakeOpenAIServer) -> AsyncIterator[Model]:
    model = get_model("openai/gpt-test", base_url=fake_openai.base_url, api_key="sk-test", retry=FAST_RETRY)
    yield model
    await model.aclose()


@pytest.fixture
async def anthropic_model(fake_anthropic: FakeAnthropicServer) -> AsyncIterator[Model]:
    model = get_model(
        "anthropic/claude-test", base_url=fake_anthropic.base_url, api_key="sk-test", retry=FAST_RETRY
    )
    yield model
    await model.aclose()
