"""A fake Anthropic server: POST /v1/messages, JSON or SSE, in the Messages API wire format.

    with FakeAnthropicServer(["Hello!"]) as fake:
        model = get_model("anthropic/claude-sonnet-4-5", base_url=fake.base_url, api_key="test")

Takes the same replies as `FakeOpenAIServer`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from llm_persona.testing._http import HttpRequest, HttpResponder
from llm_persona.testing.replies import Drop, ErrorReply, Garbage, Reply, estimate_tokens
from llm_persona.testing.server import ScriptedServer, sse

_ids = itertools.count(1)
_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class FakeAnthropicServer(ScriptedServer):
    """An Anthropic-compatible server on 127.0.0.1 answering from a script of replies."""

    async def route(self, request: HttpRequest, body: Any, responder: HttpResponder) -> None:
        if (request.method, request.path) != ("POST", "/v1/messages"):
            await _error(responder, ErrorReply(404, f"Unknown request: {request.method} {request.path}."))
            return
        if not isinstance(body, dict):
            await _error(responder, ErrorReply(400, "The body must be a JSON object."))
            return
        reply = self.next_reply(body)
        await self.wait(reply)
        stream = bool(body.get("stream"))
        if isinstance(reply, ErrorReply) and stream and reply.in_stream:
            await responder.start_stream()
            await responder.write(sse(_error_object(reply), "error"))
            await responder.end()
        elif isinstance(reply, ErrorReply):
            await _error(responder, reply)
        elif isinstance(reply, Garbage):
            if stream:
                await responder.start_stream()
                await responder.write(b"event: message_start\ndata: " + reply.body.encode() + b"\n\n")
                await responder.end()
            else:
                await responder.send(200, reply.body.encode(), content_type=reply.content_type)
        elif isinstance(reply, Drop):
            if stream:
                await responder.start_stream()
                for name, event in _events(body, Reply(reply.after_text), final=False):
                    await responder.write(sse(event, name))
            if stream and reply.clean:
                await responder.end()
                return
            responder.drop()
        elif stream:
            await responder.start_stream()
            for name, event in _events(body, reply, final=True):
                await responder.write(sse(event, name))
            await responder.end()
        else:
            await responder.send_json(200, message(body, reply))


def message(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A Messages API `message` answering `body` with `reply`."""
    content: list[dict[str, Any]] = []
    if reply.reasoning:
        content.append({"type": "thinking", "thinking": reply.reasoning, "signature": "fake"})
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        content.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
        )
    return {**_message_head(body, reply), "content": content, "stop_reason": _stop_reason(reply)}


def _events(body: dict[str, Any], reply: Reply, *, final: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs Anthropic streams for `reply`, in order."""
    head = {**_message_head(body, reply), "content": [], "stop_reason": None}
    head["usage"] = {**head["usage"], "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": head}
    yield "ping", {"type": "ping"}
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if reply.text:
        pieces = [reply.text[i : i + 8] for i in range(0, len(reply.text), 8)]
        blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in pieces]))
    for call in reply.tool_calls:
        pieces = [call.arguments[i : i + 8] for i in range(0, len(call.arguments), 8)]
        start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        blocks.append((start, [{"type": "input_json_delta", "partial_json": p} for p in pieces]))
    for index, (start, deltas) in enumerate(blocks):
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    if not final:
        return
    usage = {"output_tokens": _usage(body, reply)["output_tokens"]}
    delta = {"stop_reason": _stop_reason(reply), "stop_sequence": None}
    yield "message_delta", {"type": "message_delta", "delta": delta, "usage": usage}
    yield "message_stop", {"type": "message_stop"}


def _message_head(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": f"msg_fake{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake-model"),
        "stop_sequence": None,
        "usage": _usage(body, reply),
    }


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    """Anthropic's usage: input_tokens leaves out the tokens read from the cache."""
    if reply.usage is not None:
        cached = reply.usage.cached_input_tokens
        prompt, output = reply.usage.input_tokens - cached, reply.usage.output_tokens
    else:
        cached = 0
        prompt = estimate_tokens([body.get("system"), body.get("messages")])
        output = estimate_tokens(reply.text or "") + sum(
            estimate_tokens(c.arguments) for c in reply.tool_calls
        )
    return {
        "input_tokens": prompt,
        "output_tokens": output,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def _stop_reason(reply: Reply) -> str:
    return _STOP_REASONS.get(reply.finish, reply.finish)


def _input(arguments: str) -> Any:
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def _error(responder: HttpResponder, reply: ErrorReply) -> None:
    headers = dict(reply.headers)
    if reply.body is not None:
        await responder.send(reply.status, reply.body.encode(), content_type="text/plain", headers=headers)
        return
    await responder.send_json(reply.status, _error_object(reply), headers=headers)


def _error_object(reply: ErrorReply) -> dict[str, Any]:
    kind = reply.code if reply.code in _ERROR_TYPES.values() else _ERROR_TYPES.get(reply.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": reply.message}}
