"""Embeddings: texts -> vectors, for searching archival memory by meaning.

    embedder = get_embedder("openai/text-embedding-3-small")
    [vector] = await embedder.embed(["Bo likes green tea"])

An embedder implements one method, `embed`. The one provider is the OpenAI embeddings endpoint
(`openai/...`; also any compatible server through base_url= or OPENAI_BASE_URL, and `ollama/...`).
The key comes from api_key= or OPENAI_API_KEY, as the SDK reads them; the SDK is imported when an
embedder is first used. Every failure is an `EmbeddingError` naming the handle, chained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from llm_persona.errors import ModelError
from llm_persona.llm.handles import PerHandle

if TYPE_CHECKING:
    import openai

OLLAMA_BASE_URL = "http://localhost:11434/v1"


class EmbeddingError(ModelError):
    """Texts could not be embedded (bad handle, no key, the provider failed or answered oddly)."""


class Embedder(Protocol):
    handle: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


EmbedderResolver = Callable[[str], Embedder]


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible `/embeddings` endpoint (one SDK client per event loop)."""

    def __init__(
        self,
        model: str,
        *,
        provider: str = "openai",
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self.provider = provider
        self.handle = f"{provider}/{model}"
        self._options: dict[str, Any] = {
            "base_url": base_url,
            "api_key": api_key,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        import openai

        try:
            response = await self._connect().embeddings.create(
                model=self.model, input=list(texts), encoding_format="float"
            )
        except openai.OpenAIError as exc:
            raise self._error(str(exc)) from exc
        vectors = [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
        if len(vectors) != len(texts) or any(not v for v in vectors):
            raise self._error(f"asked for {len(texts)} vectors, got {len(vectors)} (or an empty one)")
        return vectors

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.close()

    def _connect(self) -> openai.AsyncOpenAI:
        """The SDK client for the running event loop (connections cannot move between loops)."""
        import openai

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            try:
                self._client = openai.AsyncOpenAI(**self._options)
            except openai.OpenAIError as exc:
                raise self._error(f"{exc} Set OPENAI_API_KEY, or pass api_key=.") from exc
            self._loop = loop
        return self._client

    def _error(self, detail: str) -> EmbeddingError:
        return EmbeddingError(
            f"Cannot embed with {self.handle}: {detail.strip()}", provider=self.provider, model=self.model
        )


def get_embedder(handle: str, **options: Any) -> Embedder:
    """The embedder behind `handle` ("openai/text-embedding-3-small", "ollama/nomic-embed-text").

    `options` go to `OpenAIEmbedder` (base_url=, api_key=, timeout=, max_retries=).
    """
    provider, _, model = handle.partition("/")
    if provider == "openai" and model:
        return OpenAIEmbedder(model, **options)
    if provider == "ollama" and model:
        return OpenAIEmbedder(
            model, provider="ollama", **{"base_url": OLLAMA_BASE_URL, "api_key": "ollama", **options}
        )
    raise EmbeddingError(
        f"No embedder for {handle!r}: use 'openai/<model>' (e.g. 'openai/text-embedding-3-small'; any "
        "compatible server through OPENAI_BASE_URL) or 'ollama/<model>'.",
        provider=provider,
        model=model,
    )


class Embedders(PerHandle[Embedder]):
    """Resolve handles to embedders, one instance per handle (their clients are reused)."""

    def __init__(self) -> None:
        super().__init__(get_embedder)


_SHARED = Embedders()


def default_embedders() -> Embedders:
    """The process's shared embedders: what agents use unless given a resolver (clients reused)."""
    return _SHARED
