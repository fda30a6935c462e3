"""The Anthropic Messages wire format: our request to JSON, JSON (whole or streamed) to our response.

Pure functions on plain JSON data. Differences from OpenAI that live here: the system text is a
separate parameter (split so the persona prefix is cached), tool results travel in user messages,
tool arguments are objects, and cached input tokens are counted apart from `input_tokens`.
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

#: Anthropic requires max_tokens; used when ModelSettings.max_tokens is None.
DEFAULT_MAX_TOKENS = 4096

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def messages_params(request: ModelRequest, model: str) -> dict[str, Any]:
    """The JSON body of a Messages API request (without `stream`)."""
    settings = request.settings
    system_text = "\n\n".join(m.content or "" for m in request.messages if m.role == "system")
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": settings.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": conversation(request.messages),
    }
    system = system_blocks(system_text, request.cache_prefix)
    if system:
        params["system"] = system
    if request.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        if settings.parallel_tool_calls is False:
            params["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    return params


def system_blocks(text: str, cache_prefix: str | None) -> list[dict[str, Any]]:
    """The system text as blocks: the cache prefix (marked ephemeral-cacheable), then the rest.

    A prefix the text does not start with is ignored: the whole text goes as one uncached block.
    """
    if not text.strip():
        return []
    if not cache_prefix or not text.startswith(cache_prefix):
        return [{"type": "text", "text": text}]
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": cache_prefix, "cache_control": {"type": "ephemeral"}}
    ]
    rest = text[len(cache_prefix) :]
    if rest.strip():
        blocks.append({"type": "text", "text": rest})
    return blocks


def conversation(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """User and assistant turns, tool results folded into user turns, same-role neighbours merged."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content or "",
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content and message.content.strip():
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call.arguments)}
        )
    return blocks


def tool_input(arguments: str) -> dict[str, Any]:
    """Tool arguments as the object Anthropic wants; malformed JSON (the model's mistake) becomes {}."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_message(data: object, *, fallback_model: str) -> ModelResponse:
    """A Messages API `message` object as a response."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ValueError("expected a message object with a content list")
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    for block in data["content"]:
        if not isinstance(block, dict):
            raise ValueError("a content block is not an object")
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text") or ""))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking") or ""))
        elif kind == "tool_use":
            calls.append(
                ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), _json(block.get("input")))
            )
    return ModelResponse(
        text="".join(text) or None,
        tool_calls=calls,
        usage=parse_usage(data.get("usage")),
        finish_reason=finish_reason(data.get("stop_reason"), calls),
        model=str(data.get("model") or fallback_model),
        reasoning="".join(reasoning) or None,
    )


def parse_usage(data: object) -> Usage:
    """Anthropic counts cache reads and writes apart from input_tokens; ours are all input."""
    if not isinstance(data, dict):
        return Usage()
    cached = _int(data.get("cache_read_input_tokens"))
    written = _int(data.get("cache_creation_input_tokens"))
    return Usage(_int(data.get("input_tokens")) + cached + written, _int(data.get("output_tokens")), cached)


def finish_reason(stop_reason: object, calls: list[ToolCall]) -> str:
    if not isinstance(stop_reason, str):
        return "tool_calls" if calls else "stop"
    return _FINISH_REASONS.get(stop_reason, stop_reason)


class StreamAccumulator:
    """Turns Messages API stream events into our stream events, and finally into the whole response."""

    def __init__(self, *, fallback_model: str) -> None:
        self.finished = False
        self._message: dict[str, Any] = {"model": fallback_model, "content": [], "usage": {}}
        self._blocks: dict[int, dict[str, Any]] = {}  # Anthropic block index -> block being built
        self._call_index: dict[int, int] = {}  # Anthropic block index -> our tool-call index

    def feed(self, event: dict[str, Any]) -> list[StreamEvent]:
        """The events one server event carries."""
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._message["model"] = message.get("model") or self._message["model"]
            self._message["usage"].update(message.get("usage") or {})
        elif kind == "content_block_start":
            return self._start_block(event)
        elif kind == "content_block_delta":
            return self._delta(event)
        elif kind == "message_delta":
            self._message["stop_reason"] = (event.get("delta") or {}).get("stop_reason")
            usage = {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            self._message["usage"].update(usage)
        elif kind == "message_stop":
            self.finished = True
        return []

    def _start_block(self, event: dict[str, Any]) -> list[StreamEvent]:
        block = dict(event.get("content_block") or {})
        index = _int(event.get("index"))
        self._blocks[index] = block
        if block.get("type") == "tool_use":
            block["partial_json"] = []
            call_index = self._call_index.setdefault(index, len(self._call_index))
            return [ToolCallDelta(call_index, str(block.get("id") or ""), str(block.get("name") or ""), "")]
        if block.get("type") == "text" and block.get("text"):
            return [TextDelta(str(block["text"]))]
        return []

    def _delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        block = self._blocks.get(_int(event.get("index")))
        delta = event.get("delta") or {}
        if block is None or not isinstance(delta, dict):
            raise ValueError("a content_block_delta for a block that never started")
        kind = delta.get("type")
        if kind == "text_delta":
            piece = str(delta.get("text") or "")
            block["text"] = str(block.get("text") or "") + piece
            return [TextDelta(piece)] if piece else []
        if kind == "thinking_delta":
            block["thinking"] = str(block.get("thinking") or "") + str(delta.get("thinking") or "")
        elif kind == "input_json_delta":
            piece = str(delta.get("partial_json") or "")
            block["partial_json"].append(piece)
            call_index = self._call_index[_int(event.get("index"))]
            return [ToolCallDelta(call_index, None, None, piece)] if piece else []
        return []

    def response(self) -> ModelResponse:
        """The response the events fed so far add up to."""
        content = []
        for _, block in sorted(self._blocks.items()):
            if block.get("type") == "tool_use":  # input kept as the raw text the model sent
                block = {
                    "type": "tool_use",
                    "id": block.get("id"),
                    "name": block.get("name"),
                    "input": "".join(block.get("partial_json", [])),
                }
            content.append(block)
        return parse_message(
            {**self._message, "content": content}, fallback_model=str(self._message["model"])
        )


def _json(value: object) -> str:
    """Tool input as JSON text; streamed input is already text (possibly incomplete: kept raw)."""
    if isinstance(value, str):
        return value or "{}"
    return json.dumps(value if value is not None else {})


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
