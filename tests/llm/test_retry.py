"""RetryingModel: which errors are retried, how often, how long it waits, and streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from llm_persona.errors import ModelBadRequestError, ModelRateLimitError, ModelUnavailableError
from llm_persona.llm import (
    ChatMessage,
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ResponseDone,
    RetryingModel,
    RetryPolicy,
    ScriptedModel,
    StreamEvent,
    TextDelta,
    get_model,
)
from llm_persona.llm.retry import retry_after
from llm_persona.testing import FakeOpenAIServer, rate_limited

from .conftest import FAST_RETRY, drain


def ask(max_retries: int) -> ModelRequest:
    return ModelRequest([ChatMessage.user("hi")], settings=ModelSettings(max_retries=max_retries))


def failure_with_headers(**headers: str) -> ModelRateLimitError:
    """A ModelError raised from an SDK-like exception that carries an HTTP response."""
    error = ModelRateLimitError("429", provider="openai", model="m")
    error.__cause__ = Exception()
    error.__cause__.response = SimpleNamespace(headers=headers)  # type: ignore[attr-defined]
    return error


async def test_retryable_errors_are_retried_up_to_max_retries() -> None:
    inner = ScriptedModel([ModelUnavailableError("down"), ModelRateLimitError("slow"), "ok"])
    model = RetryingModel(inner, FAST_RETRY)

    response = await model.request(ask(max_retries=2))

    assert response.text == "ok"
    assert len(inner.requests) == 3


async def test_gives_up_after_max_retries() -> None:
    inner = ScriptedModel([ModelUnavailableError("down")] * 3 + ["not reached"])
    model = RetryingModel(inner, FAST_RETRY)

    with pytest.raises(ModelUnavailableError, match="down"):
        await model.request(ask(max_retries=1))

    assert len(inner.requests) == 2


async def test_zero_retries_means_one_try() -> None:
    inner = ScriptedModel([ModelUnavailableError("down"), "not reached"])

    with pytest.raises(ModelUnavailableError):
        await RetryingModel(inner, FAST_RETRY).request(ask(max_retries=0))

    assert len(inner.requests) == 1


async def test_non_retryable_errors_are_raised_at_once() -> None:
    inner = ScriptedModel([ModelBadRequestError("bad"), "not reached"])

    with pytest.raises(ModelBadRequestError):
        await RetryingModel(inner, FAST_RETRY).request(ask(max_retries=5))

    assert len(inner.requests) == 1


async def test_other_exceptions_pass_through_untouched() -> None:
    inner = ScriptedModel([KeyError("a bug"), "not reached"])

    with pytest.raises(KeyError):
        await RetryingModel(inner, FAST_RETRY).request(ask(max_retries=5))


class _FailsAfterFirstEvent(Model):
    """Streams one piece of text, then fails; `request` is never used."""

    handle = "test/flaky"

    def __init__(self) -> None:
        self.calls = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        raise AssertionError("not used")

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self.calls += 1
        yield TextDelta("Hel")
        raise ModelUnavailableError("dropped")


async def test_stream_failing_after_output_is_not_retried() -> None:
    inner = _FailsAfterFirstEvent()
    seen: list[StreamEvent] = []

    with pytest.raises(ModelUnavailableError, match="dropped"):
        await drain(RetryingModel(inner, FAST_RETRY).stream(ask(max_retries=3)), seen)

    assert seen == [TextDelta("Hel")]
    assert inner.calls == 1


async def test_stream_failing_before_output_is_retried() -> None:
    inner = ScriptedModel([ModelUnavailableError("down"), "hello there"])

    events = [e async for e in RetryingModel(inner, FAST_RETRY).stream(ask(max_retries=1))]

    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.text == "hello there"
    assert len(inner.requests) == 2


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    error = ModelUnavailableError("down")

    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)]:
        delays = {policy.delay(attempt, error) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)
        assert len(delays) > 1  # jittered


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_retry_after=10.0)

    assert policy.delay(0, failure_with_headers(**{"retry-after": "3"})) == 3.0
    assert policy.delay(0, failure_with_headers(**{"retry-after-ms": "250"})) == 0.25
    assert policy.delay(0, failure_with_headers(**{"retry-after": "3600"})) == 10.0


def test_retry_after_reads_http_dates_and_ignores_nonsense() -> None:
    assert retry_after(failure_with_headers(**{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(failure_with_headers(**{"retry-after": "soon"})) is None
    assert retry_after(ModelRateLimitError("no cause")) is None


async def test_retry_after_from_the_real_sdk_exception(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(rate_limited(retry_after=7))
    model = get_model("openai/m", base_url=fake_openai.base_url, api_key="k")

    with pytest.raises(ModelRateLimitError) as caught:
        await model.request(ask(max_retries=0))
    await model.aclose()

    assert retry_after(caught.value) == 7.0


def test_handle_is_the_inner_models() -> None:
    assert RetryingModel(ScriptedModel([], handle="scripted/x")).handle == "scripted/x"
