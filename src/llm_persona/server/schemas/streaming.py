"""Server-sent events for `POST /v1/agents/{id}/messages` with `streaming: true`.

The stream, as Letta sends it and the SDK reads it (each event one `data:` line of JSON):

    data: {message chunk}        one per message, or per token piece with stream_tokens
    ...
    data: {"message_type": "stop_reason", ...}
    data: {"message_type": "usage_statistics", ...}
    data: [DONE]

A failure after the stream started: the stop reason chunk, then `event: error` with a
`LettaErrorMessage` (the SDK raises it as an `APIError`), then `data: [DONE]`. A failure before the
first chunk is an ordinary HTTP error response instead. Pings (`include_pings`) keep idle streams
open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from llm_persona.server.schemas.common import WireModel
from llm_persona.server.schemas.messages import (
    AssistantMessage,
    LettaStopReason,
    LettaUsageStatistics,
    ReasoningMessage,
    SystemMessage,
    ToolCallMessage,
    ToolReturnMessage,
    UserMessage,
)

SSE_DONE = "data: [DONE]\n\n"


class LettaPing(WireModel):
    message_type: Literal["ping"] = "ping"
    id: str
    date: datetime


class LettaErrorMessage(WireModel):
    """The payload of an `event: error` SSE event."""

    message_type: Literal["error_message"] = "error_message"
    run_id: str
    error_type: str
    message: str
    detail: str | None = None
    seq_id: int | None = None


#: One `data:` event of a stream (Letta's `LettaStreamingResponse`; no summary messages here).
LettaStreamingChunk: TypeAlias = Annotated[
    SystemMessage
    | UserMessage
    | AssistantMessage
    | ReasoningMessage
    | ToolCallMessage
    | ToolReturnMessage
    | LettaPing
    | LettaErrorMessage
    | LettaStopReason
    | LettaUsageStatistics,
    Field(discriminator="message_type"),
]


def sse_data(chunk: WireModel) -> str:
    """`chunk` as one SSE `data:` event."""
    return f"data: {chunk.model_dump_json()}\n\n"


def sse_error(error: LettaErrorMessage) -> str:
    """`error` as an SSE `event: error` event (the SDK raises it)."""
    return f"event: error\ndata: {error.model_dump_json()}\n\n"
