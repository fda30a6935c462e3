"""Streams on the wire: every chunk, pings, the error event of a failed turn, and the SDK reading them."""

from __future__ import annotations

import json

import pytest
from letta_client import APIError
from letta_client.types import agents as lta

from llm_persona.agents import MessageCommitted, TurnEnded
from llm_persona.llm.types import Usage
from llm_persona.server import convert
from llm_persona.server import schemas as w
from llm_persona.store.records import AgentRecord, MessageRecord
from tests.server.wire.helpers import FakeServer, sse, strict, turn_events


@pytest.mark.parametrize("stream_tokens", [False, True])
def test_every_stream_chunk_validates(
    turn: list[MessageRecord], summary: MessageRecord, stream_tokens: bool
) -> None:
    events = [*turn_events(turn), MessageCommitted(summary)]
    chunks = [c for e in events for c in convert.stream_chunks(e, stream_tokens=stream_tokens)]
    sdk = [strict(lta.LettaStreamingResponse, c) for c in chunks]
    assert [type(s).__name__ for s in sdk] == [type(c).__name__ for c in chunks]
    kinds = [c.message_type for c in chunks]
    assert "user_message" in kinds  # the summary (streams have no summary_message)
    assert kinds[kinds.index("stop_reason") + 1] == "usage_statistics"
    assert all(c.message_type != "user_message" or c.id != turn[0].id for c in chunks)  # input not echoed
    if stream_tokens:  # the committed assistant message only adds its reasoning
        assert kinds[:5] == ["assistant_message"] * 2 + ["tool_call_message"] * 2 + ["reasoning_message"]
        assert sdk[2].tool_call.name == "memory_insert"
        assert sdk[3].tool_call.name is None
        assert sdk[0].otid == sdk[1].otid != sdk[2].otid == sdk[3].otid
    else:
        assert kinds.count("assistant_message") == 4
        assert kinds.count("tool_call_message") == 3


def test_sse_events_end_a_failed_turn_with_an_error_event() -> None:
    failed = TurnEnded("llm_api_error", Usage(), 1, error="The provider returned 503.")
    stop, error = convert.sse_events(failed, run_id="run-1")
    assert stop.startswith("data: ")
    assert json.loads(stop[6:])["stop_reason"] == "llm_api_error"
    assert error.startswith("event: error\ndata: ")
    payload = json.loads(error.split("data: ", 1)[1])
    assert (
        strict(lta.LettaStreamingResponse, w.LettaErrorMessage(**payload)).message
        == "The provider returned 503."
    )


def test_pings_validate() -> None:
    from datetime import UTC, datetime

    sdk = strict(lta.LettaStreamingResponse, w.LettaPing(id="ping-1", date=datetime.now(UTC)))
    assert sdk.message_type == "ping"


def test_sdk_raises_the_error_event_of_a_failed_stream(agent: AgentRecord) -> None:
    server = FakeServer()
    failed = TurnEnded("llm_api_error", Usage(), 1, error="The provider returned 503.")
    server.on(
        "POST",
        f"/v1/agents/{agent.id}/messages",
        lambda r: sse([*convert.sse_events(failed, run_id="run-1"), w.SSE_DONE]),
    )
    stream = server.client().agents.messages.create(agent.id, input="hi", streaming=True)
    assert next(stream).message_type == "stop_reason"
    with pytest.raises(APIError, match="503"):
        next(stream)
