"""The Anthropic provider: request translation (pure), and the real SDK against a fake Anthropic server."""

from __future__ import annotations

from typing import Any

import pytest

from llm_persona.errors import (
    ContextWindowExceededError,
    ModelBadRequestError,
    ModelRateLimitError,
    ModelResponseError,
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
    ToolCall,
    ToolCallDelta,
    ToolSchema,
    Usage,
    get_model,
    tool_call,
)
from llm_persona.llm.anthropic_wire import StreamAccumulator, messages_params, parse_message, system_blocks
from llm_persona.testing import Drop, ErrorReply, FakeAnthropicServer, Garbage, Reply, rate_limited

from .conftest import drain

PERSONA = "You are Maya, a patient tutor."
WEATHER = ToolSchema("get_weather", "The weather in a city.", {"type": "object", "properties": {}})


def conversation() -> list[ChatMessage]:
    return [
        ChatMessage.system(PERSONA + "\n\n<memory>likes tea</memory>"),
        ChatMessage.user("Weather in Paris and Rome?"),
        ChatMessage.assistant(
            "Checking both.",
            [
                ToolCall("tu_1", "get_weather", '{"city": "Paris"}'),
                ToolCall("tu_2", "get_weather", '{"city": "Ro'),
            ],
        ),
        ChatMessage.tool("tu_1", "sunny"),
        ChatMessage.tool("tu_2", "error: arguments are not valid JSON"),
        ChatMessage.user("Thanks!"),
    ]


# --- request translation ----------------------------------------------------------------------


def test_messages_params_translate_the_whole_conversation() -> None:
    request = ModelRequest(
        conversation(),
        [WEATHER],
        ModelSettings(temperature=0.5, max_tokens=300, parallel_tool_calls=False),
        cache_prefix=PERSONA,
    )

    assert messages_params(request, "claude-test") == {
        "model": "claude-test",
        "max_tokens": 300,
        "system": [
            {"type": "text", "text": PERSONA, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "\n\n<memory>likes tea</memory>"},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "tu_2", "name": "get_weather", "input": {}},  # malformed: {}
                ],
            },
            {
                "role": "user",
                "content": [  # both tool results, then the user's next words, in one user turn
                    {"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu_2",
                        "content": "error: arguments are not valid JSON",
                    },
                    {"type": "text", "text": "Thanks!"},
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "The weather in a city.",
                "input_schema": WEATHER.parameters,
            }
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "temperature": 0.5,
    }


def test_max_tokens_has_a_default_and_optional_fields_are_left_out() -> None:
    params = messages_params(ModelRequest([ChatMessage.user("hi")]), "claude-test")

    assert params == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_system_blocks() -> None:
    assert system_blocks("", PERSONA) == []
    assert system_blocks("Just this.", None) == [{"type": "text", "text": "Just this."}]
    # a prefix the text does not start with is not cached rather than mangled
    assert system_blocks("Other text.", PERSONA) == [{"type": "text", "text": "Other text."}]
    # the whole text is the prefix: one cached block, no empty second block
    assert system_blocks(PERSONA, PERSONA) == [
        {"type": "text", "text": PERSONA, "cache_control": {"type": "ephemeral"}}
    ]


def test_parse_message_maps_blocks_stop_reason_and_cache_usage() -> None:
    data = {
        "model": "claude-test",
        "content": [
            {"type": "thinking", "thinking": "They want weather.", "signature": "s"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 5,
            "output_tokens": 20,
        },
    }

    response = parse_message(data, fallback_model="x")

    assert response.text == "Let me check."
    assert response.reasoning == "They want weather."
    assert response.tool_calls == [ToolCall("tu_1", "get_weather", '{"city": "Paris"}')]
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=1015, output_tokens=20, cached_input_tokens=1000)


@pytest.mark.parametrize(
    ("stop", "finish"), [("end_turn", "stop"), ("max_tokens", "length"), ("pause_turn", "pause_turn")]
)
def test_stop_reasons(stop: str, finish: str) -> None:
    data = {"content": [{"type": "text", "text": "x"}], "stop_reason": stop}

    assert parse_message(data, fallback_model="m").finish_reason == finish


def test_stream_accumulator_keeps_partial_tool_json_raw() -> None:
    accumulator = StreamAccumulator(fallback_model="m")
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 5}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "f"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": '},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "tru"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 3}},
        {"type": "message_stop"},
    ]

    produced = [e for event in events for e in accumulator.feed(event)]

    assert produced == [
        ToolCallDelta(0, "t", "f", ""),
        ToolCallDelta(0, None, None, '{"a": '),
        ToolCallDelta(0, None, None, "tru"),
    ]
    assert accumulator.finished
    response = accumulator.response()
    assert response.tool_calls == [ToolCall("t", "f", '{"a": tru')]
    assert response.usage == Usage(5, 3, 0)


# --- against the fake server ------------------------------------------------------------------


def ask(**kwargs: object) -> ModelRequest:
    return ModelRequest(conversation(), cache_prefix=PERSONA, **kwargs)  # type: ignore[arg-type]


async def test_text_reply_and_wire_request(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.add(Reply("Sunny in both.", usage=Usage(1500, 6, 1200)))

    response = await anthropic_model.request(ask())

    assert response.text == "Sunny in both."
    assert response.usage == Usage(1500, 6, 1200)
    assert response.finish_reason == "stop"
    request = fake_anthropic.requests[-1]
    assert request.path == "/v1/messages"
    # SDK versions differ in the header they put the key in
    assert "sk-test" in (request.headers.get("x-api-key", ""), request.headers.get("authorization", "")[7:])
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body == {**messages_params(ask(), "claude-test")}


async def test_tool_calls(anthropic_model: Model, fake_anthropic: FakeAnthropicServer) -> None:
    call = tool_call("get_weather", city="Oslo")
    fake_anthropic.add([call])

    response = await anthropic_model.request(ask(tools=[WEATHER]))

    assert response.tool_calls == [call]
    assert response.finish_reason == "tool_calls"


async def test_stream(anthropic_model: Model, fake_anthropic: FakeAnthropicServer) -> None:
    call = tool_call("get_weather", city="Reykjavik, Iceland")
    fake_anthropic.add(Reply("Looking it up for you.", tool_calls=[call], usage=Usage(900, 12, 800)))

    events: list[StreamEvent] = [e async for e in anthropic_model.stream(ask(tools=[WEATHER]))]

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Looking it up for you."
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert pieces[0] == ToolCallDelta(0, call.id, "get_weather", "")
    assert "".join(p.arguments for p in pieces) == call.arguments
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.tool_calls == [call]
    assert done.response.usage == Usage(900, 12, 800)
    assert fake_anthropic.last_body["stream"] is True


async def test_rate_limit_is_retried(anthropic_model: Model, fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.add(rate_limited(), "ok")

    assert (await anthropic_model.request(ask())).text == "ok"
    assert len(fake_anthropic.requests) == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (rate_limited(), ModelRateLimitError),
        (ErrorReply(529, "Overloaded"), ModelUnavailableError),
        (ErrorReply(400, "prompt is too long: 210000 tokens > 200000 maximum"), ContextWindowExceededError),
        (ErrorReply(400, "tools.0.name: String should match pattern"), ModelBadRequestError),
        (ErrorReply(401, "invalid x-api-key"), ModelBadRequestError),
        (Garbage(), ModelResponseError),
        (Drop(), ModelUnavailableError),
    ],
)
async def test_error_mapping(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer, reply: object, error: type[Exception]
) -> None:
    fake_anthropic.add(reply)  # type: ignore[arg-type]

    with pytest.raises(error) as caught:
        await anthropic_model.request(ask(settings=ModelSettings(max_retries=0)))

    assert type(caught.value) is error
    assert "anthropic/claude-test" in str(caught.value)


async def test_unauthorized_says_which_variable_to_set(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.add(ErrorReply(401, "invalid x-api-key"))

    with pytest.raises(ModelBadRequestError, match="ANTHROPIC_API_KEY"):
        await anthropic_model.request(ask())


async def test_missing_key_says_which_variable_to_set(fake_anthropic: FakeAnthropicServer) -> None:
    model = get_model("anthropic/claude-test", base_url=fake_anthropic.base_url)

    with pytest.raises(ModelBadRequestError, match="ANTHROPIC_API_KEY"):
        await model.request(ask())
    assert fake_anthropic.requests == []


async def test_dropped_stream_is_unavailable(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.add(Drop(after_text="Half a sentence"), "not reached")
    received: list[StreamEvent] = []

    with pytest.raises(ModelUnavailableError, match="Lost the connection"):
        await drain(anthropic_model.stream(ask()), received)

    assert "".join(e.text for e in received if isinstance(e, TextDelta)) == "Half a sentence"
    assert len(fake_anthropic.requests) == 1


async def test_stream_ending_before_message_stop_is_unavailable(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.add(Drop(after_text="Half", clean=True))

    with pytest.raises(ModelUnavailableError, match="ended before the model finished"):
        await drain(anthropic_model.stream(ask(settings=ModelSettings(max_retries=0))), [])


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (ErrorReply(529, "Overloaded", in_stream=True), ModelUnavailableError),
        (ErrorReply(429, "Slow down", in_stream=True), ModelRateLimitError),
        (
            ErrorReply(400, "prompt is too long: 9 tokens > 8 maximum", in_stream=True),
            ContextWindowExceededError,
        ),
    ],
)
async def test_error_event_inside_a_stream_is_mapped_by_its_type(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer, reply: ErrorReply, error: type[Exception]
) -> None:
    fake_anthropic.add(reply)

    with pytest.raises(error) as caught:
        await drain(anthropic_model.stream(ask(settings=ModelSettings(max_retries=0))), [])

    assert type(caught.value) is error


async def test_garbage_in_a_stream_is_a_response_error(
    anthropic_model: Model, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.add(Garbage())

    with pytest.raises(ModelResponseError):
        await drain(anthropic_model.stream(ask()), [])
