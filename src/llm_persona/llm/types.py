"""The values that cross the model boundary: messages, tool schemas, settings, responses, stream events.

Provider-neutral and plain: a provider module translates them to and from its wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for. `arguments` is the JSON text exactly as the model sent it (maybe invalid)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation; `tool` messages answer the assistant's call `tool_call_id`."""

    role: Role
    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, content: str) -> ChatMessage:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> ChatMessage:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str | None, tool_calls: list[ToolCall] | None = None) -> ChatMessage:
        return cls("assistant", content, tool_calls=list(tool_calls or []))

    @classmethod
    def tool(cls, tool_call_id: str, content: str, name: str | None = None) -> ChatMessage:
        return cls("tool", content, tool_call_id=tool_call_id, name=name)


@dataclass(frozen=True, slots=True)
class ToolSchema:
    """A tool the model may call; `parameters` is the JSON schema of its arguments object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """How to ask: sampling, limits, and how long and how often to try.

    `timeout` bounds each network step (connecting, each read): for a stream, the silence between
    two chunks, not the whole reply. `max_retries` counts tries after the first.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 60.0
    max_retries: int = 2
    parallel_tool_calls: bool | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one request (or, summed with `+`, many requests) used; cached tokens are part of input."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
        )


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A complete answer.

    `finish_reason` uses OpenAI's words whatever the provider: "stop", "length", "tool_calls",
    "content_filter" (other values pass through unchanged). `model` is the model that answered.
    """

    text: str | None
    tool_calls: list[ToolCall]
    usage: Usage
    finish_reason: str
    model: str
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything one model call needs.

    `cache_prefix` is the static leading part of the system message (the persona text); providers
    with an explicit prompt cache mark it cacheable.
    """

    messages: list[ChatMessage]
    tools: list[ToolSchema] = field(default_factory=list)
    settings: ModelSettings = field(default_factory=ModelSettings)
    cache_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call `index`: `id` and `name` come once (first piece), `arguments` in pieces."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """The last event of every stream: the whole response, as `request` would have returned it."""

    response: ModelResponse


StreamEvent: TypeAlias = TextDelta | ToolCallDelta | ResponseDone
