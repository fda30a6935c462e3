"""Tools: `/v1/tools` and `/v1/agents/{id}/tools`.

A tool's JSON schema is `{"name", "description", "parameters"}` as in Letta. When a create request
gives `source_code` but no `json_schema`, the schema is read from the source: its last top-level
function (name, parameters with their annotations and defaults, docstring summary and `Args:`).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from llm_persona.agents.tools.source_schema import ToolSourceError
from llm_persona.agents.tools.source_schema import schema_from_source as derive_schema
from llm_persona.server.schemas.common import MAX_INT, RequestModel, ToolType, WireModel
from llm_persona.store.records import DEFAULT_RETURN_CHAR_LIMIT

# Tool fields the SDK knows that this server accepts and does not use (approvals, sandboxes).
_TOOL_IGNORED = frozenset(
    {
        "default_requires_approval",
        "enable_parallel_execution",
        "npm_requirements",
        "pip_requirements",
    }
)


class Tool(WireModel):
    """A tool as Letta returns it. Note the wire key `metadata_` (Letta's spelling)."""

    id: str
    name: str
    description: str | None = None
    tool_type: ToolType = "custom"
    json_schema: dict[str, Any] = Field(default_factory=dict)
    args_json_schema: dict[str, Any] | None = None
    source_code: str | None = None
    source_type: str | None = None
    tags: list[str] = Field(default_factory=list)
    return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT
    metadata_: dict[str, Any] | None = None
    default_requires_approval: bool | None = None
    enable_parallel_execution: bool | None = None
    npm_requirements: list[dict[str, Any]] | None = None
    pip_requirements: list[dict[str, Any]] | None = None
    project_id: str | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None


def _check_json_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    name = schema.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError("json_schema needs a 'name' that is a Python identifier, e.g. 'get_weather'.")
    params = schema.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        raise ValueError("json_schema.parameters must be a JSON schema of type 'object'.")
    return schema


def schema_from_source(source: str) -> dict[str, Any]:
    """The tool's JSON schema read from its source (never run); a bad source is a ValueError (a 422)."""
    try:
        return derive_schema(source)
    except ToolSourceError as exc:
        raise ValueError(str(exc)) from exc


class _ToolBody(RequestModel):
    ignored = _TOOL_IGNORED

    description: str | None = None
    json_schema: dict[str, Any] | None = None
    args_json_schema: dict[str, Any] | None = None
    tags: list[str] | None = None
    source_type: str | None = None

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_json_schema(schema)

    @field_validator("source_code", check_fields=False)
    @classmethod
    def _valid_source(cls, source: str | None) -> str | None:
        if source is not None:
            schema_from_source(source)
        return source

    def _schema(self, source_code: str | None) -> dict[str, Any] | None:
        if self.json_schema is not None:
            schema = dict(self.json_schema)
            if self.description is not None:
                schema["description"] = self.description
            return schema
        if source_code is None:
            return None
        schema = schema_from_source(source_code)
        if self.description is not None:
            schema["description"] = self.description
        return schema


class CreateTool(_ToolBody):
    """`POST /v1/tools/` and `PUT /v1/tools/` (upsert by name).

    Give `source_code` (a Python function: its name and signature make the schema) or a
    `json_schema`. Custom tools run in a sandboxed subprocess when the model calls them.
    """

    source_code: str | None = None
    return_char_limit: int = Field(default=DEFAULT_RETURN_CHAR_LIMIT, gt=0, le=MAX_INT)

    @model_validator(mode="after")
    def _has_a_schema(self) -> CreateTool:
        if self.source_code is None and self.json_schema is None:
            raise ValueError("Give source_code (a Python function) or a json_schema for the tool.")
        if self.json_schema is None and self.source_code is not None:
            schema_from_source(self.source_code)  # no function: fail now, as a 422
        return self

    def tool_schema(self) -> dict[str, Any]:
        """The tool's JSON schema: `json_schema` as given, else read from `source_code`."""
        schema = self._schema(self.source_code)
        assert schema is not None  # checked by _has_a_schema
        return schema


class UpdateTool(_ToolBody):
    """`PATCH /v1/tools/{id}`: a missing or null field is left as it is. New `source_code` without
    a `json_schema` re-reads the schema (and so the name) from the source."""

    ignored = _TOOL_IGNORED | {"metadata_", "metadata"}

    source_code: str | None = None
    return_char_limit: int | None = Field(default=None, gt=0, le=MAX_INT)

    def changes(self, current_json_schema: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for `Store.update_tool`. Pass the stored schema so that a new
        `description` alone also reaches the schema the model sees."""
        out: dict[str, Any] = self.model_dump(
            exclude_none=True, include={"description", "source_code", "tags", "return_char_limit"}
        )
        schema = self._schema(self.source_code)
        if schema is None and self.description is not None and current_json_schema is not None:
            schema = {**current_json_schema, "description": self.description}
        if schema is not None:
            out["json_schema"] = schema
            out["name"] = schema["name"]
        return out
