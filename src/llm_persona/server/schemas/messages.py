"""Messages: the Letta message union, `LettaResponse`, and the body of `POST /v1/agents/{id}/messages`.

Every Letta message carries `message_type`, the discriminator the SDK tells them apart by; it is
always sent. One stored message may become several Letta messages that share its `id` and differ in
`message_type` and `otid` (see `convert.letta_messages`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, field_validator, model_validator

from llm_persona.server.schemas.common import MessageType, RequestModel, StopReasonType, WireModel


class TextContent(WireModel):
    type: Literal["text"] = "text"
    text: str
    signature: str | None = None


class _LettaMessage(WireModel):
    id: str
    date: datetime
    name: str | None = None
    otid: str | None = None
    sender_id: str | None = None
    step_id: str | None = None
    run_id: str | None = None
    seq_id: int | None = None
    is_err: bool | None = None


class SystemMessage(_LettaMessage):
    message_type: Literal["system_message"] = "system_message"
    content: str


class UserMessage(_LettaMessage):
    message_type: Literal["user_message"] = "user_message"
    content: str | list[TextContent]


class AssistantMessage(_LettaMessage):
    message_type: Literal["assistant_message"] = "assistant_message"
    content: str | list[TextContent]


class ReasoningMessage(_LettaMessage):
    message_type: Literal["reasoning_message"] = "reasoning_message"
    reasoning: str
    source: Literal["reasoner_model", "non_reasoner_model"] | None = None
    signature: str | None = None


class ToolCall(WireModel):
    name: str
    arguments: str
    tool_call_id: str


class ToolCallDelta(WireModel):
    """A piece of a tool call while it streams: the id and name come once, arguments in pieces."""

    name: str | None = None
    arguments: str | None = None
    tool_call_id: str | None = None


class ToolCallMessage(_LettaMessage):
    """The tool calls of one model response: `tool_calls` holds them all, `tool_call` (deprecated in
    Letta, still read by older clients) the first."""

    message_type: Literal["tool_call_message"] = "tool_call_message"
    tool_call: ToolCall | ToolCallDelta
    tool_calls: list[ToolCall] | ToolCallDelta | None = None


class ToolReturn(WireModel):
    type: Literal["tool"] = "tool"
    tool_call_id: str
    status: Literal["success", "error"]
    tool_return: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None


class ToolReturnMessage(_LettaMessage):
    message_type: Literal["tool_return_message"] = "tool_return_message"
    tool_call_id: str
    status: Literal["success", "error"]
    tool_return: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None
    tool_returns: list[ToolReturn] | None = None


class SummaryMessage(_LettaMessage):
    """A summary of older messages (sent only when the request asks for compaction messages;
    otherwise summaries are `UserMessage`s, as in Letta)."""

    message_type: Literal["summary_message"] = "summary_message"
    summary: str
    compaction_stats: dict[str, Any] | None = None


LettaMessage: TypeAlias = Annotated[
    SystemMessage
    | UserMessage
    | AssistantMessage
    | ReasoningMessage
    | ToolCallMessage
    | ToolReturnMessage
    | SummaryMessage,
    Field(discriminator="message_type"),
]


class LettaStopReason(WireModel):
    """Why the turn stopped; also an SSE chunk (sent after the messages, before the usage)."""

    message_type: Literal["stop_reason"] = "stop_reason"
    stop_reason: StopReasonType


class LettaUsageStatistics(WireModel):
    """Tokens a turn used, summed over its steps; also the last SSE chunk before `[DONE]`."""

    message_type: Literal["usage_statistics"] = "usage_statistics"
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    context_tokens: int | None = None
    run_ids: list[str] | None = None


class LettaResponse(WireModel):
    """`POST /v1/agents/{id}/messages` without streaming: the messages the turn added (not the
    user's input), why it stopped, and what it used."""

    messages: list[LettaMessage]
    stop_reason: LettaStopReason
    usage: LettaUsageStatistics
    logprobs: dict[str, Any] | None = None
    turns: list[dict[str, Any]] | None = None


class CompactionResponse(WireModel):
    """`POST /v1/agents/{id}/summarize`."""

    summary: str
    num_messages_before: int
    num_messages_after: int


# --- requests -------------------------------------------------------------------------------------


class TextPart(RequestModel):
    """A text content part of a message sent to the agent."""

    ignored = frozenset({"signature"})

    type: Literal["text"] = "text"
    text: str


def _text_parts_only(content: Any) -> Any:
    if isinstance(content, list):
        for i, part in enumerate(content):
            kind = part.get("type", "text") if isinstance(part, dict) else None
            if kind != "text":
                raise ValueError(
                    f"content[{i}] is {kind!r}; this server takes text only: a string, "
                    "or parts like {'type': 'text', 'text': '...'}."
                )
    return content


def _join(content: str | list[TextPart]) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content)


class MessageCreate(RequestModel):
    """One message sent to the agent."""

    ignored = frozenset({"batch_item_id", "group_id"})

    type: Literal["message"] | None = "message"
    role: Literal["user", "system"] = Field(
        description="'user', or 'system' for a system note in the conversation."
    )
    content: str | list[TextPart]
    name: str | None = None
    otid: str | None = Field(default=None, description="Your offline id for the message; echoed back.")
    sender_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text_only(cls, content: Any) -> Any:
        return _text_parts_only(content)

    @field_validator("content")
    @classmethod
    def _not_empty(cls, content: str | list[TextPart]) -> str | list[TextPart]:
        if not _join(content).strip():
            raise ValueError("content has no text; send a non-empty string.")
        return content

    @property
    def text(self) -> str:
        return _join(self.content)


class LettaRequest(RequestModel):
    """The body of `POST /v1/agents/{id}/messages` (and `/messages/stream`).

    Give `messages`, or `input` (a single user message). Accepted and ignored: the assistant-message
    tool settings (letta_v1_agent replies in plain text), client-side tools and skills, background
    runs, per-request model or system overrides, thinking switches, log-probabilities and token ids.
    """

    ignored = frozenset(
        {
            "assistant_message_tool_kwarg",
            "assistant_message_tool_name",
            "use_assistant_message",
            "background",
            "client_skills",
            "client_tools",
            "enable_thinking",
            "override_model",
            "override_system",
            "return_logprobs",
            "return_token_ids",
            "top_logprobs",
        }
    )

    messages: list[MessageCreate] | None = None
    input: str | list[TextPart] | None = Field(
        default=None,
        description="A single user message; the same as messages=[{'role': 'user', 'content': input}].",
    )
    max_steps: int | None = Field(default=None, ge=1, le=1000)
    streaming: bool = False
    stream_tokens: bool = False
    include_pings: bool = Field(
        default=True, description="Send keep-alive pings while a stream is quiet (streaming only)."
    )
    include_return_message_types: list[MessageType] | None = None
    include_compaction_messages: bool = False

    @field_validator("input", mode="before")
    @classmethod
    def _text_only(cls, content: Any) -> Any:
        return _text_parts_only(content)

    @model_validator(mode="after")
    def _one_source(self) -> LettaRequest:
        if self.messages and self.input is not None:
            raise ValueError("Give messages or input, not both.")
        if not self.messages and self.input is None:
            raise ValueError(
                "No message to send: give messages=[{'role': 'user', 'content': '...'}] or input."
            )
        if self.input is not None and not _join(self.input).strip():
            raise ValueError("input has no text; send a non-empty string.")
        return self

    def inputs(self) -> list[dict[str, Any]]:
        """The messages as `AgentRuntime.send` / `.stream` take them."""
        if self.messages:
            return [{"role": m.role, "content": m.text, "otid": m.otid} for m in self.messages]
        assert self.input is not None
        return [{"role": "user", "content": _join(self.input), "otid": None}]
