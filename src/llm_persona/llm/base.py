"""The model contract: one `request`, one `stream`; everything else is built on them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from llm_persona.llm.types import (
    ModelRequest,
    ModelResponse,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
)


class Model(ABC):
    """A chat model behind a handle such as "openai/gpt-4o-mini".

    Implement `request`. Override `stream` when the provider streams; the default answers with
    the whole response at once. Failures raise `llm_persona.errors.ModelError` subclasses only.
    """

    handle: str

    @abstractmethod
    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send `request` and return the complete response."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Yield the response in pieces, always ending with `ResponseDone`."""
        response = await self.request(request)
        for event in events_for(response):
            yield event

    async def aclose(self) -> None:  # noqa: B027 - optional hook: models without connections keep it
        """Release connections; the model can still be used afterwards (it reconnects)."""


def events_for(response: ModelResponse, chunk_size: int | None = None) -> list[StreamEvent]:
    """The stream events that carry `response`: text (in `chunk_size` pieces), tool calls, done."""
    events: list[StreamEvent] = []
    text = response.text or ""
    step = chunk_size or max(len(text), 1)
    events.extend(TextDelta(text[i : i + step]) for i in range(0, len(text), step))
    events.extend(
        ToolCallDelta(index, call.id, call.name, call.arguments)
        for index, call in enumerate(response.tool_calls)
    )
    events.append(ResponseDone(response))
    return events
