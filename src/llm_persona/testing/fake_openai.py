"""A fake OpenAI server speaking the real wire protocol over a real socket.

    with FakeOpenAIServer(["Hello!", rate_limited(), "Hi again"]) as fake:
        model = get_model("openai/gpt-4o-mini", base_url=fake.base_url, api_key="test")

Serves POST /v1/chat/completions (JSON, or SSE chunks when `stream` is true, with a usage chunk when
`stream_options.include_usage`), POST /v1/embeddings (deterministic vectors: similar words, similar
vectors) and GET /v1/models.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import struct
import time
from collections.abc import Iterable, Iterator
from typing import Any

from llm_persona.testing._http import HttpRequest, HttpResponder
from llm_persona.testing.replies import (
    Drop,
    ErrorReply,
    Garbage,
    Reply,
    ReplyLike,
    echo,
    estimate_tokens,
)
from llm_persona.testing.server import Responder, ScriptedServer, sse

_ids = itertools.count(1)
_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"\s*\S+|\s+")


class FakeOpenAIServer(ScriptedServer):
    """An OpenAI-compatible server on 127.0.0.1 answering from a script of replies (see `replies`).

    `embedding_dim` is the default vector size (a request's `dimensions` overrides it); `models`
    are the ids GET /v1/models lists.
    """

    api_prefix = "/v1"

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        responder: Responder = echo,
        latency: float = 0.0,
        record: bool = True,
        embedding_dim: int = 256,
        models: Iterable[str] = ("fake-model",),
    ) -> None:
        super().__init__(replies, responder=responder, latency=latency, record=record)
        self.embedding_dim = embedding_dim
        self.models = list(models)

    async def route(self, request: HttpRequest, body: Any, responder: HttpResponder) -> None:
        route = (request.method, request.path)
        if route == ("POST", "/v1/chat/completions"):
            if not isinstance(body, dict):
                await _error(responder, ErrorReply(400, "The body must be a JSON object.", "invalid_json"))
                return
            await self._chat(body, responder)
        elif route == ("POST", "/v1/embeddings"):
            await self._embeddings(body, responder)
        elif route == ("GET", "/v1/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
            await responder.send_json(200, {"object": "list", "data": data})
        else:
            message = f"Unknown request: {request.method} {request.path}."
            await _error(responder, ErrorReply(404, message, "unknown_url"))

    async def _chat(self, body: dict[str, Any], responder: HttpResponder) -> None:
        reply = self.next_reply(body)
        await self.wait(reply)
        stream = bool(body.get("stream"))
        if isinstance(reply, ErrorReply) and stream and reply.in_stream:
            await responder.start_stream()
            await responder.write(sse({"error": _error_object(reply)}))
            await responder.end()
        elif isinstance(reply, ErrorReply):
            await _error(responder, reply)
        elif isinstance(reply, Garbage):
            if stream:
                await responder.start_stream()
                await responder.write(b"data: " + reply.body.encode() + b"\n\n")
                await responder.end()
            else:
                await responder.send(200, reply.body.encode(), content_type=reply.content_type)
        elif isinstance(reply, Drop):
            if stream:
                await responder.start_stream()
                for chunk in _chunks(body, Reply(reply.after_text), include_usage=False, final=False):
                    await responder.write(sse(chunk))
            if stream and reply.clean:
                await responder.end()
                return
            responder.drop()
        elif stream:
            await responder.start_stream()
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            for chunk in _chunks(body, reply, include_usage=include_usage, final=True):
                await responder.write(sse(chunk))
            await responder.write(b"data: [DONE]\n\n")
            await responder.end()
        else:
            await responder.send_json(200, completion(body, reply))

    async def _embeddings(self, body: Any, responder: HttpResponder) -> None:
        if not isinstance(body, dict) or "input" not in body:
            await _error(
                responder, ErrorReply(400, "'input' is a required property.", "invalid_request_error")
            )
            return
        texts = _embedding_inputs(body["input"])
        dim = body.get("dimensions") or self.embedding_dim
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dim)
            value: Any = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode() if as_base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        tokens = sum(len(_WORD.findall(t)) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        await responder.send_json(
            200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
        )


def fake_embedding(text: str, dim: int = 256) -> list[float]:
    """A unit vector from hashed words: texts sharing words point the same way. Deterministic."""
    vector = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        return [1.0] + [0.0] * (dim - 1)
    return [v / norm for v in vector]


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A `chat.completion` object answering `body` with `reply`."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    return {
        "id": f"chatcmpl-fake{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish}],
        "usage": _usage(body, reply),
        "system_fingerprint": "fp_fake",
    }


def _chunks(
    body: dict[str, Any], reply: Reply, *, include_usage: bool, final: bool
) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk` objects OpenAI streams for `reply`, in order."""
    base = {
        "id": f"chatcmpl-fake{next(_ids)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "system_fingerprint": "fp_fake",
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice], **extra}

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if reply.reasoning:
        for piece in _PIECE.findall(reply.reasoning):
            yield chunk({"reasoning_content": piece})
    for piece in _PIECE.findall(reply.text or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        first = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield chunk({"tool_calls": [first]})
        for start in range(0, len(call.arguments), 8):
            piece = call.arguments[start : start + 8]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if not final:
        return
    yield chunk({}, reply.finish)
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(body, reply)}


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    if reply.usage is not None:
        prompt, output, cached = (
            reply.usage.input_tokens,
            reply.usage.output_tokens,
            reply.usage.cached_input_tokens,
        )
    else:
        prompt = estimate_tokens(body.get("messages", []))
        output = estimate_tokens(reply.text or "") + sum(
            estimate_tokens(c.arguments) for c in reply.tool_calls
        )
        cached = 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


async def _error(responder: HttpResponder, reply: ErrorReply) -> None:
    headers = dict(reply.headers)
    if reply.body is not None:
        await responder.send(reply.status, reply.body.encode(), content_type="text/plain", headers=headers)
        return
    error = _error_object(reply)
    await responder.send_json(reply.status, {"error": error}, headers=headers)


def _error_object(reply: ErrorReply) -> dict[str, Any]:
    kind = (
        "requests"
        if reply.status == 429
        else "server_error"
        if reply.status >= 500
        else "invalid_request_error"
    )
    return {"message": reply.message, "type": kind, "param": None, "code": reply.code}


def _embedding_inputs(value: Any) -> list[str]:
    """Embedding inputs as texts; token-id arrays are embedded as their digits."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]
    if isinstance(value, list):
        return [v if isinstance(v, str) else " ".join(map(str, v)) for v in value]
    return [str(value)]
