"""Sending a message over HTTP the three ways a client can (JSON, SSE, SSE with token pieces) and
telling what the server acknowledged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Mode = Literal["json", "stream", "tokens"]
MODES: tuple[Mode, ...] = ("json", "stream", "tokens")


@dataclass
class Outcome:
    """What the client saw. `acknowledged`: a 200 JSON answer, or a stream that reached [DONE]."""

    status: int | None = None  # None: the connection failed before an answer
    acknowledged: bool = False
    reply: str | None = None  # the text of the last assistant message
    stop_reason: str | None = None
    detail: str | None = None  # a JSON error's detail, or the message of a stream's error event
    error_type: str | None = None  # a stream's error event type
    messages: list[dict[str, Any]] = field(default_factory=list)
    transport_error: str | None = None


def _request(text: str, mode: Mode) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    if mode != "json":
        body.update(stream_tokens=mode == "tokens", include_pings=False)
    return body


async def send(client: httpx.AsyncClient, base_url: str, agent_id: str, text: str, mode: Mode) -> Outcome:
    """Send `text` to the agent; transport failures (a killed server) are an unacknowledged outcome."""
    out = Outcome()
    try:
        if mode == "json":
            response = await client.post(
                f"{base_url}/v1/agents/{agent_id}/messages", json=_request(text, mode)
            )
            out.status = response.status_code
            if response.status_code != 200:
                out.detail = _detail(response.content)
                return out
            body = response.json()
            out.messages = body["messages"]
            out.stop_reason = body["stop_reason"]["stop_reason"]
            out.acknowledged = True
        else:
            url = f"{base_url}/v1/agents/{agent_id}/messages/stream"
            async with client.stream("POST", url, json=_request(text, mode)) as response:
                out.status = response.status_code
                if response.status_code != 200:
                    out.detail = _detail(await response.aread())
                    return out
                await _read_stream(response, out)
    except httpx.TransportError as exc:
        out.transport_error = f"{type(exc).__name__}: {exc}"
        out.acknowledged = False
        return out
    out.reply = _last_assistant_text(out.messages)
    return out


def _detail(body: bytes) -> str:
    """The `detail` of an error answer (the raw text if it is not the JSON it should be)."""
    try:
        return str(json.loads(body)["detail"])
    except (ValueError, KeyError, TypeError):
        return f"not a JSON detail: {body[:500]!r}"


async def _read_stream(response: httpx.Response, out: Outcome) -> None:
    event = "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = line.partition(":")[2].strip()
            if data == "[DONE]":
                out.acknowledged = True
            elif event == "error":
                error = json.loads(data)
                out.detail, out.error_type = error["message"], error["error_type"]
            else:
                chunk = json.loads(data)
                kind = chunk.get("message_type")
                if kind == "stop_reason":
                    out.stop_reason = chunk["stop_reason"]
                elif kind not in ("usage_statistics", "ping"):
                    out.messages.append(chunk)
            event = "message"


def _last_assistant_text(messages: list[dict[str, Any]]) -> str | None:
    """Token pieces of one message share its id: join them."""
    pieces: dict[str, list[str]] = {}
    for m in messages:
        if m.get("message_type") == "assistant_message":
            pieces.setdefault(m["id"], []).append(m["content"])
    if not pieces:
        return None
    return "".join(pieces[list(pieces)[-1]])


async def create_agent(client: httpx.AsyncClient, base_url: str, name: str, **extra: Any) -> str:
    body = {
        "name": name,
        "model": "openai/fake-model",
        "memory_blocks": [{"label": "log", "value": "", "limit": 100_000}],
        **extra,
    }
    response = await client.post(f"{base_url}/v1/agents/", json=body)
    assert response.status_code == 200, response.text
    agent_id: str = response.json()["id"]
    return agent_id
