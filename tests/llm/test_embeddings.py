"""The embeddings client against the fake OpenAI server: vectors in order, credentials from options
or the environment, and every failure an EmbeddingError that names the handle."""

from __future__ import annotations

import socket

import pytest

from llm_persona.llm.embeddings import Embedders, EmbeddingError, OpenAIEmbedder, get_embedder
from llm_persona.testing import FakeOpenAIServer, fake_embedding


async def test_vectors_come_back_in_order(fake_openai: FakeOpenAIServer) -> None:
    embedder = get_embedder("openai/text-embedding-3-small", base_url=fake_openai.base_url, api_key="sk-test")
    texts = ["Bo likes green tea", "the parcel is late", "Bo likes tea"]
    vectors = await embedder.embed(texts)
    assert len(vectors) == len(texts)
    for vector, text in zip(vectors, texts, strict=True):
        assert vector == pytest.approx(fake_embedding(text))
    assert fake_openai.requests[-1].body["model"] == "text-embedding-3-small"
    assert await embedder.embed([]) == []
    assert len(fake_openai.requests) == 1  # nothing to embed: no request


async def test_credentials_come_from_the_environment(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    [vector] = await get_embedder("openai/e").embed(["hello"])
    assert vector == pytest.approx(fake_embedding("hello"))
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-from-env"


async def test_no_key_is_an_error_saying_how_to_fix_it() -> None:
    with pytest.raises(EmbeddingError, match=r"Cannot embed with openai/e: .*Set OPENAI_API_KEY") as caught:
        await get_embedder("openai/e").embed(["hello"])
    assert (caught.value.provider, caught.value.model) == ("openai", "e")


async def test_an_unreachable_server_is_an_embedding_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    embedder = OpenAIEmbedder("e", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
    with pytest.raises(EmbeddingError, match="Cannot embed with openai/e: Connection error") as caught:
        await embedder.embed(["hello"])
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("handle", ["text-embedding-3-small", "cohere/embed", "openai/", "letta/letta-free"])
def test_unknown_handles_name_the_ones_that_work(handle: str) -> None:
    with pytest.raises(EmbeddingError, match="use 'openai/<model>'"):
        get_embedder(handle)


def test_resolver_makes_one_embedder_per_handle() -> None:
    embedders = Embedders()
    assert embedders("openai/a") is embedders("openai/a")
    assert embedders("openai/a") is not embedders("openai/b")
    assert embedders("ollama/nomic-embed-text").handle == "ollama/nomic-embed-text"
