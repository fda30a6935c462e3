"""What a fake provider server answers, independent of the wire format it speaks.

A script holds `Reply`s (a completion), `ErrorReply`s (an HTTP error), `Garbage` (a body that is
not JSON) and `Drop`s (a cut connection). Plain text, a list of `ToolCall`s or a `ModelResponse`
stand for the `Reply` they describe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from llm_persona.llm.types import ModelResponse, ToolCall, Usage


@dataclass(frozen=True)
class Reply:
    """A completion: text and/or tool calls. Usage is estimated from the request unless given."""

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    reasoning: str | None = None
    delay: float = 0.0

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error. `code` is OpenAI's error code or Anthropic's error type; `body` sends raw text.

    With `in_stream=True` a streaming request gets a 200 stream whose first event is the error,
    as providers do when they fail after the stream has begun.
    """

    status: int
    message: str = "The fake server was told to fail."
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    in_stream: bool = False
    delay: float = 0.0


@dataclass(frozen=True)
class Garbage:
    """A 200 answer that is not JSON; to a streaming request, an event whose data is not JSON."""

    body: str = "<html><body>502 Bad Gateway</body></html>"
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Cut the connection: at once, or for a streaming request after streaming `after_text`.

    With `clean=True` a stream is ended properly at the HTTP level, but before the reply is finished
    (no finish reason, no [DONE]), as a proxy that gives up politely would.
    """

    after_text: str = ""
    clean: bool = False
    delay: float = 0.0


ServerReply: TypeAlias = Reply | ErrorReply | Garbage | Drop
#: Anything a script or responder may give: the types above, text, tool calls, a ModelResponse.
ReplyLike: TypeAlias = ServerReply | str | Sequence[ToolCall] | ModelResponse


def as_reply(reply: ReplyLike) -> ServerReply:
    """The server reply that `reply` stands for."""
    if isinstance(reply, Reply | ErrorReply | Garbage | Drop):
        return reply
    if isinstance(reply, str):
        return Reply(text=reply)
    if isinstance(reply, ModelResponse):
        return Reply(reply.text, reply.tool_calls, reply.usage, reply.finish_reason, reply.reasoning)
    calls = list(reply)
    if not all(isinstance(c, ToolCall) for c in calls):
        raise TypeError(
            f"Not a fake server reply: {reply!r}. Use text, ToolCalls, Reply, ErrorReply, Garbage or Drop."
        )
    return Reply(tool_calls=calls)


def delayed(seconds: float, reply: ReplyLike) -> ServerReply:
    """`reply`, sent after `seconds` (on top of the server's latency)."""
    return dataclasses.replace(as_reply(reply), delay=seconds)


def rate_limited(retry_after: float | None = None) -> ErrorReply:
    """429, optionally with a Retry-After header (seconds)."""
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return ErrorReply(
        429, "Rate limit reached for requests. Please try again later.", "rate_limit_exceeded", headers
    )


def server_error(status: int = 500) -> ErrorReply:
    return ErrorReply(status, "The server had an error while processing your request.", "server_error")


def context_length_exceeded() -> ErrorReply:
    """400 with OpenAI's words for a prompt longer than the context window."""
    return ErrorReply(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 "
        "tokens. Please reduce the length of the messages.",
        "context_length_exceeded",
    )


def bad_request(message: str = "Invalid request.", status: int = 400) -> ErrorReply:
    return ErrorReply(status, message, "invalid_request_error")


def estimate_tokens(data: Any) -> int:
    """A rough token count of some JSON data or text: four characters per token."""
    return len(data if isinstance(data, str) else repr(data)) // 4 + 1


def last_user_text(messages: object) -> str:
    """The text of the last user message in an OpenAI or Anthropic `messages` list ("" if none)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(
                    b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
                )
    return ""


def echo(body: dict[str, Any]) -> ReplyLike:
    """The default responder: "echo: " and the last user message."""
    return f"echo: {last_user_text(body.get('messages'))}"
