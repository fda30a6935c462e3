"""The OpenAI provider against the fake OpenAI server, over a real socket: what it sends, what it reads."""

from __future__ import annotations

import json

import pytest

from llm_persona.errors import ModelUnavailableError
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
from llm_persona.testing import FakeOpenAIServer, Reply

WEATHER = ToolSchema(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ask(text: str = "Hello", **kwargs: object) -> ModelRequest:
    return ModelRequest([ChatMessage.system("You are Maya."), ChatMessage.user(text)], **kwargs)  # type: ignore[arg-type]


async def collect(model: Model, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in model.stream(request)]


async def test_text_reply(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add("Hi, I am Maya.")

    response = await openai_model.request(ask())

    assert response.text == "Hi, I am Maya."
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.model == "gpt-test"
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0


async def test_request_body_is_openai_chat_completions(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    history = [
        ChatMessage.system("You are Maya."),
        ChatMessage.user("Weather in Paris?"),
        ChatMessage.assistant(None, [ToolCall("call_9", "get_weather", '{"city": "Paris"}')]),
        ChatMessage.tool("call_9", "sunny", name="get_weather"),
    ]
    settings = ModelSettings(temperature=0.2, max_tokens=50, parallel_tool_calls=False)

    await openai_model.request(ModelRequest(history, [WEATHER], settings))

    request = fake_openai.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are Maya."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "max_completion_tokens": 50,
    }


@pytest.mark.parametrize("streamed", [False, True])
async def test_empty_assistant_messages_are_left_out(
    openai_model: Model, fake_openai: FakeOpenAIServer, streamed: bool
) -> None:
    """OpenAI refuses an assistant message with `content: null` and no tool calls; an old stored
    history or an imported agent file can hold one. It says nothing, so it is not sent (as for Anthropic)."""
    history = [
        ChatMessage.system("You are Maya."),
        ChatMessage.user("Hi"),
        ChatMessage.assistant(None),
        ChatMessage.user("Still there?"),
        ChatMessage.assistant("  \n"),
        ChatMessage.assistant(None, [ToolCall("call_1", "get_weather", '{"city": "Oslo"}')]),
        ChatMessage.tool("call_1", "sunny"),
        ChatMessage.assistant("Sunny in Oslo."),
        ChatMessage.user("Thanks"),
    ]
    fake_openai.add("You're welcome.")

    request = ModelRequest(history, [WEATHER])
    if streamed:
        await collect(openai_model, request)
    else:
        await openai_model.request(request)

    sent = fake_openai.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are Maya."),
        ("user", "Hi"),
        ("user", "Still there?"),
        ("assistant", None),  # a tool call: content may be null
        ("tool", "sunny"),
        ("assistant", "Sunny in Oslo."),
        ("user", "Thanks"),
    ]
    assert all(m["content"] is not None or m.get("tool_calls") for m in sent)


async def test_tool_calls(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    calls = [ToolCall("call_a", "get_weather", '{"city": "Paris"}'), ToolCall("call_b", "get_weather", "{}")]
    fake_openai.add(calls)

    response = await openai_model.request(ask(tools=[WEATHER]))

    assert response.tool_calls == calls
    assert response.text is None
    assert response.finish_reason == "tool_calls"


async def test_stream_text_arrives_in_pieces_and_ends_with_the_whole_response(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.add(Reply("one two three", usage=Usage(40, 3, 32)))

    events = await collect(openai_model, ask())

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["one", " two", " three"]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.text == "one two three"
    assert events[-1].response.usage == Usage(40, 3, 32)  # from the include_usage chunk
    assert fake_openai.last_body["stream"] is True
    assert fake_openai.last_body["stream_options"] == {"include_usage": True}


async def test_stream_tool_calls_accumulate_from_deltas(
    openai_model: Model, fake_openai: FakeOpenAIServer
) -> None:
    first = tool_call("get_weather", city="Reykjavik, Iceland")
    second = tool_call("memory_append", label="human", text="lives in the north")
    fake_openai.add(Reply("Checking.", tool_calls=[first, second]))

    events = await collect(openai_model, ask(tools=[WEATHER]))

    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(pieces) > 4  # arguments really arrived in several pieces
    assert [(p.id, p.name) for p in pieces if p.id] == [(first.id, first.name), (second.id, second.name)]
    assert "".join(p.arguments for p in pieces if p.index == 1) == second.arguments
    done = events[-1]
    assert isinstance(done, ResponseDone)
    assert done.response.tool_calls == [first, second]
    assert done.response.text == "Checking."
    assert done.response.finish_reason == "tool_calls"


async def test_usage_includes_cached_tokens(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(Reply("ok", usage=Usage(input_tokens=1200, output_tokens=7, cached_input_tokens=1024)))

    response = await openai_model.request(ask())

    assert response.usage == Usage(1200, 7, 1024)
    assert response.usage.total_tokens == 1207


@pytest.mark.parametrize("streamed", [False, True])
async def test_malformed_tool_arguments_come_back_raw(
    openai_model: Model, fake_openai: FakeOpenAIServer, streamed: bool
) -> None:
    broken = ToolCall("call_x", "get_weather", '{"city": "Par')
    fake_openai.add([broken])

    if streamed:
        done = (await collect(openai_model, ask()))[-1]
        assert isinstance(done, ResponseDone)
        response = done.response
    else:
        response = await openai_model.request(ask())

    assert response.tool_calls == [broken]


async def test_reasoning_content_is_kept(openai_model: Model, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(Reply("42", reasoning="Six times seven."), Reply("42", reasoning="Six times seven."))

    response = await openai_model.request(ask())
    done = (await collect(openai_model, ask()))[-1]

    assert response.reasoning == "Six times seven."
    assert isinstance(done, ResponseDone)
    assert done.response.reasoning == "Six times seven."


async def test_base_url_and_key_come_from_the_environment(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    model = get_model("openai/gpt-env")

    response = await model.request(ask("from env"))
    await model.aclose()

    assert response.text == "echo: from env"
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-from-env"


async def test_the_sdk_does_not_retry_on_its_own(fake_openai: FakeOpenAIServer) -> None:
    from llm_persona.llm.openai import OpenAIModel
    from llm_persona.testing import server_error

    fake_openai.add(server_error(), "never reached")
    model = OpenAIModel("gpt-test", base_url=fake_openai.base_url, api_key="sk-test")

    with pytest.raises(ModelUnavailableError, match="500"):
        await model.request(ask())
    await model.aclose()

    assert len(fake_openai.requests) == 1


async def test_ollama_handle_uses_max_tokens(fake_openai: FakeOpenAIServer) -> None:
    model = get_model("ollama/llama3.2", base_url=fake_openai.base_url)

    response = await model.request(ask(settings=ModelSettings(max_tokens=9)))
    await model.aclose()

    assert model.handle == "ollama/llama3.2"
    assert response.text == "echo: Hello"
    assert fake_openai.last_body["max_tokens"] == 9
    assert json.dumps(fake_openai.last_body).count("max_completion_tokens") == 0
