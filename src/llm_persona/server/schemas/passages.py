"""Archival memory: `/v1/agents/{id}/archival-memory` (create, list, delete, search)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeAlias

from pydantic import Field

from llm_persona.server.schemas.common import RequestModel, UTCDatetime, WireModel

EmbeddingEndpointType: TypeAlias = Literal[
    "openai",
    "anthropic",
    "bedrock",
    "google_ai",
    "google_vertex",
    "azure",
    "groq",
    "ollama",
    "webui",
    "webui-legacy",
    "lmstudio",
    "lmstudio-legacy",
    "llamacpp",
    "koboldcpp",
    "vllm",
    "hugging-face",
    "mistral",
    "together",
    "pinecone",
]


class EmbeddingConfig(WireModel):
    """How passages are embedded; `embedding_dim` is 0 when this server does not know it."""

    embedding_endpoint_type: EmbeddingEndpointType
    embedding_model: str
    embedding_dim: int
    embedding_endpoint: str | None = None
    embedding_chunk_size: int | None = None
    batch_size: int | None = None
    handle: str | None = None
    azure_endpoint: str | None = None
    azure_version: str | None = None
    azure_deployment: str | None = None


class Passage(WireModel):
    """One passage of archival memory. Create and list both return `list[Passage]` (a bare array)."""

    id: str
    text: str
    created_at: datetime
    updated_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: list[float] | None = None
    embedding_config: EmbeddingConfig | None = None
    archive_id: str | None = None
    source_id: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    is_deleted: bool = False
    created_by_id: str | None = None
    last_updated_by_id: str | None = None


class CreatePassage(RequestModel):
    """`POST /v1/agents/{id}/archival-memory`."""

    text: str = Field(min_length=1)
    tags: list[str] | None = None
    created_at: UTCDatetime | None = None


class PassageSearchResult(WireModel):
    id: str
    content: str
    timestamp: str  # ISO 8601, UTC
    tags: list[str] = Field(default_factory=list)


class PassageSearchResponse(WireModel):
    """`GET /v1/agents/{id}/archival-memory/search?query=...`."""

    count: int
    results: list[PassageSearchResult]
