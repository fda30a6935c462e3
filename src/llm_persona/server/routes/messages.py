"""Messages: send (`POST /v1/agents/{id}/messages`, JSON or SSE), stream (`.../messages/stream`),
list (`GET .../messages`) and reset the context window (`PATCH .../reset-messages`).

Behaviour, decided here:

- A turn runs as its own task, never as part of the request: a client that disconnects mid-turn
  (or mid-stream) does not cancel it. The turn runs to its end and commits every step, so the
  agent's history stays consistent; the client reads the outcome with `GET .../messages`.
- Streams are framed as Letta frames them (`schemas/streaming.py`): a `data:` event per message
  (per token piece with `stream_tokens`, sharing the message's id), then the stop reason, the usage
  and `data: [DONE]`. With `include_pings` (Letta's default: true) a `ping` event is sent whenever
  nothing was sent for `ServerSettings.ping_interval` seconds (`LLM_PERSONA_PING_INTERVAL`, 30).
  An unknown agent is a plain 404 before the stream starts; a failure after it started is the stop
  reason "error", then an `event: error` (the SDK raises it), then `[DONE]`.
- A turn whose model call failed, in JSON mode, is a 502 `{"detail"}` saying what the provider
  answered, as Letta lets the error through its non-streaming route. The user's input is kept in
  the history (the failed step is recorded), so the history shows what was asked.
- `reset-messages` empties the context window: the next turn starts from the system prompt and core
  memory alone. Unlike Letta, which deletes the messages, ours stay in recall memory (the message
  list, `conversation_search`), since history here is perpetual. New agents here start with no
  messages, so `add_default_initial_messages` has nothing to add either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from llm_persona.errors import LLMPersonaError, ModelError
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.server.deps import Runtime
from llm_persona.server.routes.agents import agent_state
from llm_persona.server.settings import ServerSettings
from llm_persona.store import new_id

router = APIRouter(prefix="/v1/agents", tags=["messages"])
log = logging.getLogger(__name__)

T = TypeVar("T")

#: Turns in flight, held so that a turn whose client went away is not garbage-collected mid-run.
_TURNS: set[asyncio.Task[Any]] = set()


def _detach(turn: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run `turn` as a task of its own: cancelling the request does not cancel it."""
    task = asyncio.create_task(turn)
    _TURNS.add(task)

    def finished(done: asyncio.Task[T]) -> None:
        _TURNS.discard(done)
        if not done.cancelled() and done.exception() is not None:  # retrieved: no "never retrieved" noise
            log.debug("a detached turn failed: %s", done.exception())

    task.add_done_callback(finished)
    return task


#: The OpenAPI answer of a streamed turn: server-sent events (OpenAPI 3.1: `schema` is one event).
_SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The turn; streamed, as server-sent events: its messages, stop reason and usage, then [DONE].",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "event": {"type": "string", "description": "'error' for a failure; else none."},
                        "data": {"type": "string", "description": "One JSON chunk, or [DONE] at the end."},
                    },
                }
            }
        },
    }
}


class ResetMessages(w.RequestModel):
    """The body of `PATCH /v1/agents/{id}/reset-messages` (optional)."""

    add_default_initial_messages: bool = False


# --- send -------------------------------------------------------------------------------------------


@router.post("/{agent_id}/messages", response_model=w.LettaResponse, responses=_SSE)
async def send_message(
    agent_id: str, body: w.LettaRequest, runtime: Runtime, request: Request
) -> StreamingResponse | w.LettaResponse:
    """Run a turn. JSON unless the body says `streaming: true` (then SSE, as `.../messages/stream`)."""
    if body.streaming:
        return await _stream(agent_id, body, runtime, request)
    if body.stream_tokens:
        raise HTTPException(
            422, "stream_tokens: token streaming needs streaming=true (or POST .../messages/stream)."
        )
    turn = runtime.send(agent_id, body.inputs(), max_steps=body.max_steps)
    result = await asyncio.shield(_detach(turn))
    if result.error is not None:
        raise ModelError(
            f"The model failed ({result.stop_reason}): {result.error} Your message is kept in the "
            "agent's history; send a new one to try again."
        )
    return convert.letta_response(
        result,
        include_compaction_messages=body.include_compaction_messages,
        types=body.include_return_message_types,
    )


@router.post("/{agent_id}/messages/stream", response_class=StreamingResponse, responses=_SSE)
async def stream_message(
    agent_id: str, body: w.LettaRequest, runtime: Runtime, request: Request
) -> StreamingResponse:
    """Run a turn and stream it as SSE (whatever `streaming` says)."""
    return await _stream(agent_id, body, runtime, request)


async def _stream(
    agent_id: str, body: w.LettaRequest, runtime: Runtime, request: Request
) -> StreamingResponse:
    await runtime.get_agent(agent_id)  # an unknown agent is a 404, not a stream
    settings: ServerSettings = request.app.state.settings
    run_id = new_id("run")
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    _detach(_run_turn(runtime, agent_id, body, run_id, queue))
    return StreamingResponse(
        _sse(queue, run_id, settings.ping_interval if body.include_pings else None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _run_turn(
    runtime: Runtime, agent_id: str, body: w.LettaRequest, run_id: str, queue: asyncio.Queue[str | None]
) -> None:
    """Run the turn to its end, queueing its SSE events; the queue ends with `[DONE]`, then None."""
    try:
        events = runtime.stream(
            agent_id, body.inputs(), max_steps=body.max_steps, stream_tokens=body.stream_tokens
        )
        async for event in events:
            for text in convert.sse_events(
                event,
                run_id=run_id,
                stream_tokens=body.stream_tokens,
                types=body.include_return_message_types,
            ):
                queue.put_nowait(text)
    except Exception as exc:
        for text in _failure(exc, run_id):
            queue.put_nowait(text)
    finally:
        queue.put_nowait(w.SSE_DONE)
        queue.put_nowait(None)


def _failure(exc: Exception, run_id: str) -> list[str]:
    """A turn that failed after its stream started: the stop reason, then an error event."""
    if isinstance(exc, LLMPersonaError):
        kind, message = type(exc).__name__, str(exc)
    else:
        log.exception("turn %s failed", run_id)
        kind, message = (
            "internal_error",
            f"The server failed while running the turn (run {run_id}); see its log.",
        )
    error = w.LettaErrorMessage(run_id=run_id, error_type=kind, message=message, detail=message)
    return [w.sse_data(convert.stop_reason("error")), w.sse_error(error)]


async def _sse(
    queue: asyncio.Queue[str | None], run_id: str, ping_interval: float | None
) -> AsyncIterator[str]:
    """The queued events; a ping whenever nothing came for `ping_interval` seconds (None: never)."""
    getter: asyncio.Future[str | None] | None = None
    try:
        while True:
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=ping_interval)
            if not done:  # keep the same getter: nothing queued meanwhile is lost
                yield w.sse_data(w.LettaPing(id=run_id, date=datetime.now(UTC)))
                continue
            item, getter = getter.result(), None
            if item is None:
                return
            yield item
    finally:
        if getter is not None:
            getter.cancel()


# --- history ----------------------------------------------------------------------------------------


@router.get("/{agent_id}/messages", response_model=list[w.LettaMessage])
async def list_messages(
    agent_id: str,
    runtime: Runtime,
    before: str | None = None,
    after: str | None = None,
    limit: Annotated[int | None, Query(ge=0, le=w.MAX_INT, description="Stored messages per page.")] = 100,
    order: Literal["asc", "desc"] = "desc",
    include_return_message_types: Annotated[list[w.MessageType] | None, Query()] = None,
) -> list[w.LettaMessage]:
    """The agent's whole history as Letta messages, newest first by default (paging: `schemas.common`)."""
    records = await asyncio.to_thread(
        runtime.store.list_messages,
        runtime.tenant,
        agent_id,
        after=after,
        before=before,
        limit=limit,
        order=order,
    )
    return convert.letta_messages_from_list(
        records, reverse=order == "desc", types=include_return_message_types
    )


@router.patch("/{agent_id}/reset-messages", response_model=w.AgentState)
async def reset_messages(
    agent_id: str, runtime: Runtime, body: Annotated[ResetMessages | None, Body()] = None
) -> w.AgentState:
    """Empty the agent's context window (its messages stay in recall memory); the agent as it is now."""
    await runtime.reset_messages(agent_id)
    return await agent_state(runtime, agent_id)
