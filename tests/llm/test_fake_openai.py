"""The fake OpenAI server itself: wire format, embeddings, models, latency, concurrency, lifecycle."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from typing import Any

import httpx
import openai
import pytest

from llm_persona.llm import ToolCall
from llm_persona.testing import FakeOpenAIServer, Reply, fake_embedding

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hello there"}]}


async def sse_lines(fake: FakeOpenAIServer, body: dict[str, Any]) -> list[str]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    return [line for line in response.text.split("\n") if line]


async def test_stream_is_sse_chunks_then_done(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.add(Reply("Hi you", tool_calls=[ToolCall("call_1", "f", '{"x": 1}')]))

    lines = await sse_lines(fake_openai, {**CHAT, "stream": True})

    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert all("usage" not in c for c in chunks)  # only asked for with stream_options.include_usage
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": "", "refusal": None}
    assert "".join(d.get("content") or "" for d in deltas) == "Hi you"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"x": 1}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_stream_ends_with_a_usage_chunk_when_asked(fake_openai: FakeOpenAIServer) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}

    lines = await sse_lines(fake_openai, body)

    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    usage = chunks[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_default_responder_echoes_and_a_custom_one_answers(fake_openai: FakeOpenAIServer) -> None:
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k")
    first = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    fake_openai.responder = lambda body: f"{len(body['messages'])} messages"
    second = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    await client.close()

    assert first.choices[0].message.content == "echo: ping"
    assert second.choices[0].message.content == "1 messages"
    assert fake_openai.bodies("/v1/chat/completions")[0]["messages"] == [{"role": "user", "content": "ping"}]


async def test_embeddings_are_deterministic_and_similar_for_similar_texts(
    fake_openai: FakeOpenAIServer,
) -> None:
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k")
    texts = ["Maya likes green tea", "green tea is what Maya likes", "the stock market fell"]
    as_floats = await client.embeddings.create(model="e", input=texts, encoding_format="float")
    default = await client.embeddings.create(model="e", input=texts)  # the SDK asks for base64 by default
    small = await client.embeddings.create(model="e", input="hello", dimensions=8)
    await client.close()

    vectors = [d.embedding for d in as_floats.data]
    assert vectors[0] == pytest.approx(fake_embedding(texts[0], 256), abs=1e-6)
    for decoded, plain in zip(default.data, vectors, strict=True):
        assert decoded.embedding == pytest.approx(plain, abs=1e-6)
    assert len(small.data[0].embedding) == 8
    assert math.isclose(sum(v * v for v in vectors[2]), 1.0, rel_tol=1e-6)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > 0.5 > cos(vectors[0], vectors[2])


async def test_models_are_listed(fake_openai: FakeOpenAIServer) -> None:
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k")
    models = [m.id async for m in client.models.list()]
    await client.close()

    assert models == ["fake-model"]


async def test_unknown_paths_and_bad_bodies_get_openai_style_errors(fake_openai: FakeOpenAIServer) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{fake_openai.base_url}/assistants")
        broken = await client.post(f"{fake_openai.base_url}/chat/completions", content=b"{not json")

    assert missing.status_code == 404
    assert "Unknown request" in missing.json()["error"]["message"]
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"


async def post_raw(port: int, body: bytes) -> bytes:
    """One request on its own connection, with nothing but asyncio: measures the server, not a client."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: fake\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_latency_applies_to_every_reply_and_hundreds_of_clients_are_served_at_once() -> None:
    body = json.dumps(CHAT).encode()
    with FakeOpenAIServer(latency=0.3, record=False) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        started = time.perf_counter()
        answers = await asyncio.gather(*(post_raw(port, body) for _ in range(400)))
        elapsed = time.perf_counter() - started

    assert all(a.startswith(b"HTTP/1.1 200 OK") and b"echo: Hello there" in a for a in answers)
    assert fake.requests == []  # record=False
    assert 0.3 <= elapsed < 3.0  # concurrent: not 400 * 0.3 s


def test_context_manager_starts_and_stops_a_real_server() -> None:
    with FakeOpenAIServer() as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
