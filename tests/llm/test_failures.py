"""The shared failure table: HTTP status and transport failures to ModelErrors, with useful messages."""

from __future__ import annotations

import httpx
import pytest

from llm_persona.errors import (
    ContextWindowExceededError,
    ModelBadRequestError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from llm_persona.llm.failures import for_status, is_context_overflow, sentence, transport_failure


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (429, "Too many requests", ModelRateLimitError),
        (408, "Request timeout", ModelTimeoutError),
        (500, "Internal error", ModelUnavailableError),
        (529, "Overloaded", ModelUnavailableError),
        (400, "maximum context length is 8192 tokens", ContextWindowExceededError),
        (400, "the request exceeds the available context size", ContextWindowExceededError),  # llama.cpp
        (400, "Unknown parameter: 'foo'", ModelBadRequestError),
        (401, "Invalid key", ModelBadRequestError),
        (404, "No such model", ModelBadRequestError),
        (422, "Unprocessable", ModelBadRequestError),
    ],
)
def test_status_table(status: int, detail: str, expected: type[ModelError]) -> None:
    error = for_status(status, detail, where="OpenAI", provider="openai", model="m", auth_hint="Set THE_KEY.")

    assert type(error) is expected
    assert (error.provider, error.model) == ("openai", "m")
    assert "openai/m" in str(error)
    assert error.retryable == (expected in (ModelRateLimitError, ModelTimeoutError, ModelUnavailableError))


def test_messages_say_how_to_fix() -> None:
    unauthorized = for_status(
        401, "Invalid key", where="OpenAI", provider="openai", model="m", auth_hint="Set K."
    )
    missing = for_status(404, "No such model", where="OpenAI", provider="openai", model="m", auth_hint="")
    overflow = for_status(400, "prompt is too long", where="Anthropic", provider="a", model="m", auth_hint="")

    assert str(unauthorized) == "OpenAI returned 401 for openai/m: Invalid key. Set K."
    assert "Check the model name" in str(missing)
    assert "Shorten the message history" in str(overflow)


def test_context_overflow_found_even_in_a_long_message() -> None:
    detail = "x" * 2000 + " (context_length_exceeded)"

    assert is_context_overflow(detail)
    error = for_status(400, detail, where="OpenAI", provider="openai", model="m", auth_hint="")
    assert isinstance(error, ContextWindowExceededError)
    assert len(str(error)) < 700  # the provider's text is trimmed


def test_sentence() -> None:
    assert sentence("  no  stop ") == "no stop."
    assert sentence("Done!") == "Done!"
    assert sentence("y" * 20, limit=10) == "yyyyyyy..."


def test_transport_failures_are_recognised_by_kind() -> None:
    request = httpx.Request("POST", "http://x")

    assert transport_failure(httpx.ReadTimeout("slow", request=request)) == "timeout"
    assert transport_failure(httpx.RemoteProtocolError("cut", request=request)) == "connection"
    assert transport_failure(httpx.ConnectError("refused", request=request)) == "connection"
    assert transport_failure(ValueError("not transport")) is None
    assert transport_failure(KeyError("x")) is None
