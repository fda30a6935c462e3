"""Core memory blocks: `/v1/blocks` (shared blocks) and `/v1/agents/{id}/core-memory/blocks`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from llm_persona.server.schemas.common import MAX_INT, RequestModel, WireModel
from llm_persona.store.records import DEFAULT_BLOCK_LIMIT

# Block fields the SDK knows that this server does not keep (templates, projects, deployments).
_BLOCK_IGNORED = frozenset(
    {
        "base_template_id",
        "deployment_id",
        "entity_id",
        "hidden",
        "is_template",
        "preserve_on_migration",
        "project_id",
        "tags",
        "template_id",
        "template_name",
    }
)


class Block(WireModel):
    """A block as Letta returns it (`BlockResponse`, and `Block` inside `AgentState`)."""

    id: str
    label: str
    value: str
    limit: int
    description: str | None = None
    read_only: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] | None = None
    is_template: bool = False
    hidden: bool | None = None
    preserve_on_migration: bool | None = None
    template_name: str | None = None
    template_id: str | None = None
    base_template_id: str | None = None
    deployment_id: str | None = None
    entity_id: str | None = None
    project_id: str | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None


def _check_fits(value: str | None, limit: int | None) -> None:
    if value is not None and limit is not None and len(value) > limit:
        raise ValueError(
            f"value is {len(value)} characters, over the block's limit of {limit}; "
            "shorten the value or raise the limit."
        )


class CreateBlock(RequestModel):
    """A new block: in `memory_blocks` of an agent, or `POST /v1/blocks`."""

    ignored = _BLOCK_IGNORED

    label: str = Field(min_length=1, description="Where the block shows in the prompt, e.g. 'human'.")
    value: str
    limit: int = Field(default=DEFAULT_BLOCK_LIMIT, gt=0, le=MAX_INT, validate_default=True)
    description: str | None = None
    read_only: bool = False
    metadata: dict[str, Any] | None = None

    @field_validator("limit")
    @classmethod
    def _value_fits(cls, limit: int, info: ValidationInfo) -> int:
        _check_fits(info.data.get("value"), limit)
        return limit

    def fields(self) -> dict[str, Any]:
        """The block's fields as `AgentRuntime.create_agent(memory_blocks=...)` and `BlockRecord` take them."""
        return self.model_dump(exclude_none=True)


class UpdateBlock(RequestModel):
    """`PATCH /v1/blocks/{id}` and `PATCH /v1/agents/{id}/core-memory/blocks/{label}`.

    A missing or null field is left as it is. When only one of `value` and `limit` is given, the
    route checks it against the stored other one.
    """

    ignored = _BLOCK_IGNORED

    value: str | None = None
    limit: int | None = Field(default=None, gt=0, le=MAX_INT)
    label: str | None = Field(default=None, min_length=1)
    description: str | None = None
    read_only: bool | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("limit")
    @classmethod
    def _value_fits(cls, limit: int | None, info: ValidationInfo) -> int | None:
        _check_fits(info.data.get("value"), limit)
        return limit

    def changes(self) -> dict[str, Any]:
        """The fields to change (given and not null)."""
        return self.model_dump(exclude_none=True)
