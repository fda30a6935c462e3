"""Models for tests, shipped with the library: answer from a script or a function, never the network.

    model = ScriptedModel(["Hi!", [tool_call("memory_append", label="human", text="likes tea")], "Noted."])
    model = FunctionModel(lambda request: f"You said {request.messages[-1].content}")

Both record every request in `.requests` and stream by cutting their text into `TextDelta`s.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeAlias

from llm_persona.llm.base import Model, events_for
from llm_persona.llm.types import ModelRequest, ModelResponse, StreamEvent, ToolCall, Usage

#: What a script or function may answer: text, tool calls, a whole response.
Reply: TypeAlias = str | list[ToolCall] | ModelResponse
#: A script entry may also be an exception instance, raised when its turn comes.
ScriptEntry: TypeAlias = Reply | BaseException

_call_ids = itertools.count(1)


def tool_call(name: str, /, **arguments: Any) -> ToolCall:
    """A tool call with `arguments` as JSON and a fresh id ("call_1", "call_2", ...)."""
    return ToolCall(id=f"call_{next(_call_ids)}", name=name, arguments=json.dumps(arguments))


def to_response(reply: Reply, request: ModelRequest, model: str) -> ModelResponse:
    """A reply as a full response; usage is estimated at four characters per token."""
    if isinstance(reply, ModelResponse):
        return reply
    text, calls = (reply, []) if isinstance(reply, str) else (None, list(reply))
    prompt = sum(len(m.content or "") + sum(len(c.arguments) for c in m.tool_calls) for m in request.messages)
    answer = len(text or "") + sum(len(c.name) + len(c.arguments) for c in calls)
    return ModelResponse(
        text=text,
        tool_calls=calls,
        usage=Usage(input_tokens=prompt // 4 + 1, output_tokens=answer // 4 + 1),
        finish_reason="tool_calls" if calls else "stop",
        model=model,
    )


class _RecordingModel(Model):
    chunk_size = 8

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        response = await self.request(request)
        for event in events_for(response, chunk_size=self.chunk_size):
            yield event

    @property
    def last_request(self) -> ModelRequest:
        if not self.requests:
            raise AssertionError(f"{self.handle} has not been asked anything yet.")
        return self.requests[-1]


class ScriptedModel(_RecordingModel):
    """Answers with `replies` in order; an exception instance in the script is raised instead.

    Asking once more than the script holds fails the test with an AssertionError.
    """

    def __init__(self, replies: Iterable[ScriptEntry], *, handle: str = "scripted/model") -> None:
        super().__init__(handle)
        self.replies: list[ScriptEntry] = list(replies)
        self._next = 0

    @property
    def remaining(self) -> int:
        """Replies not used yet."""
        return len(self.replies) - self._next

    def add(self, *replies: ScriptEntry) -> None:
        """Append replies to the script."""
        self.replies.extend(replies)

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if self._next >= len(self.replies):
            raise AssertionError(
                f"{self.handle} was asked {len(self.requests)} times but scripted only {len(self.replies)} "
                "replies; add more replies to the ScriptedModel."
            )
        entry = self.replies[self._next]
        self._next += 1
        if isinstance(entry, BaseException):
            raise entry
        return to_response(entry, request, self.handle.partition("/")[2])


class FunctionModel(_RecordingModel):
    """Answers with `fn(request)`, a plain or async function returning text, tool calls or a response."""

    def __init__(
        self,
        fn: Callable[[ModelRequest], Reply | Awaitable[Reply]],
        *,
        handle: str = "scripted/function",
    ) -> None:
        super().__init__(handle)
        self.fn = fn

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        reply = self.fn(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return to_response(reply, request, self.handle.partition("/")[2])
