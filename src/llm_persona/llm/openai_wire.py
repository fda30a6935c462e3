"""The OpenAI chat-completions wire format: our request to JSON, JSON (whole or streamed) to our response.

Pure functions on plain JSON data, so they hold for any OpenAI-compatible server. Data that is not
a chat completion raises ValueError; the provider turns it into `ModelResponseError`.
"""

from __future__ import annotations

import json
from typing import Any

from llm_persona.llm.types import (
    ChatMessage,
    ModelRequest,
    ModelResponse,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)


def chat_params(request: ModelRequest, model: str, *, max_tokens_field: str) -> dict[str, Any]:
    """The JSON body of a chat-completions request (without `stream`)."""
    settings = request.settings
    messages = [message_json(m) for m in request.messages if not _empty_assistant(m)]
    params: dict[str, Any] = {"model": model, "messages": messages}
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
        if settings.parallel_tool_calls is not None:
            params["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        params[max_tokens_field] = settings.max_tokens
    return params


def _empty_assistant(message: ChatMessage) -> bool:
    """An assistant message with neither text nor tool calls (histories stored before the loop
    dropped them, imported agent files): OpenAI refuses `content: null` without `tool_calls`, and
    the message says nothing, so it is left out, as the Anthropic wire code does."""
    return message.role == "assistant" and not message.tool_calls and not (message.content or "").strip()


def message_json(message: ChatMessage) -> dict[str, Any]:
    """One message as OpenAI expects it (`chat_params` leaves out empty assistant messages)."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content or ""}
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.name:
        data["name"] = message.name
    return data


def parse_completion(data: object, *, fallback_model: str) -> ModelResponse:
    """A `chat.completion` JSON object as a response."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("the completion has no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ValueError("the first choice has no message")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ValueError("tool_calls is not a list")
    tool_calls = [_tool_call(call, index) for index, call in enumerate(calls)]
    return ModelResponse(
        text=_str_or_none(message.get("content")),
        tool_calls=tool_calls,
        usage=parse_usage(data.get("usage")),
        finish_reason=str(choice.get("finish_reason") or ("tool_calls" if tool_calls else "stop")),
        model=str(data.get("model") or fallback_model),
        reasoning=_reasoning(message),
    )


def parse_usage(data: object) -> Usage:
    """OpenAI's usage object; cached tokens come from prompt_tokens_details.cached_tokens."""
    if not isinstance(data, dict):
        return Usage()
    details = data.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(_int(data.get("prompt_tokens")), _int(data.get("completion_tokens")), _int(cached))


class StreamAccumulator:
    """Turns `chat.completion.chunk` objects into stream events, and finally into the whole response."""

    def __init__(self, *, fallback_model: str) -> None:
        self.model = fallback_model
        self.finished = False
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish_reason = "stop"
        self._usage = Usage()

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """The events one chunk carries (often none: role-only and usage chunks)."""
        if chunk.get("model"):
            self.model = str(chunk["model"])
        if chunk.get("usage"):
            self._usage = parse_usage(chunk["usage"])
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise ValueError("chunk choices is not a list")
        events: list[StreamEvent] = []
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise ValueError("chunk delta is not an object")
            text = _str_or_none(delta.get("content"))
            if text:
                self._text.append(text)
                events.append(TextDelta(text))
            reasoning = _reasoning(delta)
            if reasoning:
                self._reasoning.append(reasoning)
            calls = delta.get("tool_calls") or []
            if not isinstance(calls, list):
                raise ValueError("chunk tool_calls is not a list")
            for position, call in enumerate(calls):
                events.append(self._feed_call(call, position))
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
                self.finished = True
        return events

    def _feed_call(self, call: object, position: int) -> ToolCallDelta:
        if not isinstance(call, dict):
            raise ValueError("a streamed tool call is not an object")
        index = call.get("index")
        index = index if isinstance(index, int) else position
        function = call.get("function") or {}
        if not isinstance(function, dict):
            raise ValueError("a streamed tool call's function is not an object")
        state = self._calls.setdefault(index, {"id": None, "name": None, "arguments": []})
        call_id = _str_or_none(call.get("id"))
        name = _str_or_none(function.get("name"))
        arguments = _arguments_text(function.get("arguments"))
        state["id"] = state["id"] or call_id
        state["name"] = state["name"] or name
        state["arguments"].append(arguments)
        return ToolCallDelta(index, call_id, name, arguments)

    def response(self) -> ModelResponse:
        """The response the chunks fed so far add up to."""
        tool_calls = [
            ToolCall(id=s["id"] or f"call_{i}", name=s["name"] or "", arguments="".join(s["arguments"]))
            for i, s in sorted(self._calls.items())
        ]
        return ModelResponse(
            text="".join(self._text) or None,
            tool_calls=tool_calls,
            usage=self._usage,
            finish_reason=self._finish_reason,
            model=self.model,
            reasoning="".join(self._reasoning) or None,
        )


def _tool_call(call: object, index: int) -> ToolCall:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise ValueError(f"tool call {index} has no function")
    function = call["function"]
    return ToolCall(
        id=str(call.get("id") or f"call_{index}"),
        name=str(function.get("name") or ""),
        arguments=_arguments_text(function.get("arguments")),
    )


def _arguments_text(value: object) -> str:
    """Arguments as JSON text: OpenAI sends a string; a few compatible servers send an object."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _reasoning(message: dict[str, Any]) -> str | None:
    """Reasoning text some compatible servers add (vLLM/DeepSeek `reasoning_content`, Ollama `reasoning`)."""
    return _str_or_none(message.get("reasoning_content")) or _str_or_none(message.get("reasoning"))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
