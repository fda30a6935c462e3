"""OpenAI failures become our ModelErrors once, at the boundary; retryable ones are retried, others not."""

from __future__ import annotations

import socket

import pytest

from llm_persona.errors import (
    ContextWindowExceededError,
    ModelBadRequestError,
    ModelError,
    ModelRateLimitError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from llm_persona.llm import (
    ChatMessage,
    Model,
    ModelRequest,
    ModelSettings,
    ResponseDone,
    StreamEvent,
    TextDelta,
    get_model,
)
from llm_persona.testing import (
    Drop,
    ErrorReply,
    FakeOpenAIServer,
    Garbage,
    ReplyLike,
    bad_request,
    context_length_exceeded,
    delayed,
    rate_limited,
    server_error,
)

from .conftest import FAST_RETRY, drain

CHAT = "/v1/chat/completions"


def ask(max_retries: int = 2, timeout: float = 10.0) -> ModelRequest:
    settings = ModelSettings(max_retries=max_retries, timeout=timeout)
    return ModelRequest([ChatMessage.user("Hello")], settings=settings)


async def test_rate_limit_is_retried_then_succeeds(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(rate_limited(retry_after=0), rate_limited(), "finally")

    response = await openai_model.request(ask(max_retries=2))

    assert response.text == "finally"
    assert len(fake_openai.bodies(CHAT)) == 3


async def test_rate_limit_exhausted_raises_rate_limit_error(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(*[rate_limited()] * 3, "not reached")

    with pytest.raises(ModelRateLimitError) as caught:
        await openai_model.request(ask(max_retries=2))

    assert len(fake_openai.bodies(CHAT)) == 3  # the first try and two retries
    error = caught.value
    assert (error.provider, error.model) == ("openai", "gpt-test")
    assert "429" in str(error)
    assert "openai/gpt-test" in str(error)
    assert type(error.__cause__).__name__ == "RateLimitError"  # chained from the SDK's exception


async def test_server_error_is_unavailable_and_retried(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(server_error(500), server_error(503))

    with pytest.raises(ModelUnavailableError, match="503"):
        await openai_model.request(ask(max_retries=1))

    assert len(fake_openai.bodies(CHAT)) == 2


async def test_timeout(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(delayed(2.0, "too late"))

    with pytest.raises(ModelTimeoutError, match=r"within 0\.2s"):
        await openai_model.request(ask(max_retries=0, timeout=0.2))


async def test_context_length_exceeded_is_not_retried(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(context_length_exceeded(), "not reached")

    with pytest.raises(ContextWindowExceededError, match="maximum context length"):
        await openai_model.request(ask(max_retries=2))

    assert len(fake_openai.bodies(CHAT)) == 1


async def test_context_length_recognised_from_message_alone(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    # vLLM words it like OpenAI but sends no code
    fake_openai.add(
        bad_request("This model's maximum context length is 4096 tokens. However, you requested 5000.")
    )

    with pytest.raises(ContextWindowExceededError):
        await openai_model.request(ask())


async def test_other_client_errors_are_bad_requests(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(bad_request("Invalid schema for function 'x'."), "not reached")

    with pytest.raises(ModelBadRequestError, match="Invalid schema for function") as caught:
        await openai_model.request(ask())

    assert not isinstance(caught.value, ContextWindowExceededError)
    assert not caught.value.retryable
    assert len(fake_openai.bodies(CHAT)) == 1


async def test_unauthorized_says_which_variable_to_set(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(ErrorReply(401, "Incorrect API key provided.", "invalid_api_key"))
    model = get_model("openai/gpt-test", base_url=fake_openai.base_url, api_key="wrong")

    with pytest.raises(ModelBadRequestError, match="OPENAI_API_KEY") as caught:
        await model.request(ask())
    await model.aclose()

    assert "401" in str(caught.value)
    assert "Incorrect API key" in str(caught.value)


async def test_missing_api_key_says_which_variable_to_set() -> None:
    model = get_model("openai/gpt-test")

    with pytest.raises(ModelBadRequestError, match="Set OPENAI_API_KEY"):
        await model.request(ask())


@pytest.mark.parametrize("streamed", [False, True])
async def test_garbage_body_is_a_response_error(
    openai_model: Model, fake_openai: FakeOpenAIServer, streamed: bool
) -> None:
    fake_openai.add(Garbage(), "not reached")

    attempt = drain(openai_model.stream(ask()), []) if streamed else openai_model.request(ask())

    with pytest.raises(ModelResponseError, match="not JSON"):
        await attempt

    assert len(fake_openai.bodies(CHAT)) == 1  # retrying would not help


async def test_completion_without_choices_is_a_response_error(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Garbage('{"id": "x", "object": "chat.completion", "choices": []}'))

    with pytest.raises(ModelResponseError, match="no choices"):
        await openai_model.request(ask())


async def test_stream_dropped_midway_is_unavailable_and_not_retried(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Drop(after_text="Half a sen"), "not reached")
    received: list[StreamEvent] = []

    with pytest.raises(ModelUnavailableError, match="Lost the connection"):
        await drain(openai_model.stream(ask(max_retries=2)), received)

    assert [e.text for e in received if isinstance(e, TextDelta)] == ["Half", " a", " sen"]
    assert len(fake_openai.bodies(CHAT)) == 1  # text was already out: a retry would repeat it


async def test_stream_ending_before_the_reply_is_finished_is_unavailable(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Drop(after_text="Half", clean=True))  # HTTP-complete, but no finish_reason, no [DONE]

    with pytest.raises(ModelUnavailableError, match="ended before the model finished"):
        await drain(openai_model.stream(ask(max_retries=0)), [])


async def test_error_event_inside_a_stream_is_unavailable(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(ErrorReply(500, "The server had an error while processing your request.", in_stream=True))

    with pytest.raises(ModelUnavailableError, match="had an error while processing"):
        await drain(openai_model.stream(ask(max_retries=0)), [])


async def test_stream_dropped_before_any_output_is_retried(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Drop(), "second try")

    events = [event async for event in openai_model.stream(ask(max_retries=1))]

    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.text == "second try"
    assert len(fake_openai.bodies(CHAT)) == 2


async def test_connection_dropped_without_answer_is_unavailable(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Drop(), Drop())

    with pytest.raises(ModelUnavailableError):
        await openai_model.request(ask(max_retries=1))

    assert len(fake_openai.bodies(CHAT)) == 2


async def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = get_model(
        "openai/gpt-test", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", retry=FAST_RETRY
    )

    with pytest.raises(ModelUnavailableError, match=f"127.0.0.1:{port}"):
        await model.request(ask(max_retries=1))


async def test_every_failure_is_a_model_error(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    replies: list[ReplyLike] = [
        rate_limited(),
        server_error(),
        context_length_exceeded(),
        bad_request(),
        Garbage(),
        Drop(),
    ]
    fake_openai.add(*replies)

    for _ in replies:
        with pytest.raises(ModelError):
            await openai_model.request(ask(max_retries=0))
