"""Personas (`/v1/personas`, ours, not Letta's): versions, labels, rendering, diff and drift."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from llm_persona.server.schemas.agents import PersonaVars
from llm_persona.server.schemas.common import MAX_INT, RequestModel, WireModel


class PersonaSummary(WireModel):
    """One entry of `GET /v1/personas`."""

    name: str
    latest_version: int
    version_count: int
    labels: dict[str, int] = Field(default_factory=dict, description="Label -> the version it points at.")


class PersonaVersion(WireModel):
    """`GET /v1/personas/{name}/versions/{n}` (and each entry of `.../versions`)."""

    name: str
    version: int
    fingerprint: str
    created_at: datetime
    labels: list[str] = Field(default_factory=list, description="Labels that point at this version.")
    content: dict[str, Any] = Field(description="The resolved persona (inheritance applied), as stored.")


class SetPersonaLabel(RequestModel):
    """`PUT /v1/personas/{name}/labels/{label}`: point the label at a version (moves it if it exists)."""

    version: int = Field(ge=1, le=MAX_INT)


class RenderPersona(RequestModel):
    """`POST /v1/personas/{name}/render`: the system prompt of a version, with variables filled."""

    version: int | None = Field(default=None, ge=1, le=MAX_INT)
    label: str | None = Field(default=None, min_length=1)
    variables: PersonaVars = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_selector(self) -> RenderPersona:
        if self.version is not None and self.label is not None:
            raise ValueError("Give version or label, not both.")
        return self


class RenderedPersona(WireModel):
    name: str
    version: int
    fingerprint: str
    prompt: str


class FieldChange(WireModel):
    field: str
    before: Any
    after: Any


class PersonaDiff(WireModel):
    """`GET /v1/personas/{name}/diff?a=1&b=production` (version numbers or labels)."""

    name: str
    old: int
    new: int
    changes: list[FieldChange]
    prompt_diff: str = Field(description="Unified diff of the two prompts, placeholders left as {name}.")


class DriftEntry(WireModel):
    """One entry of `GET /v1/personas/drift`: an agent whose last step ran another version than the
    one it would get now."""

    agent_id: str
    agent_name: str
    persona: str
    served_version: int | None = Field(description="None: the agent has not taken a step yet.")
    current_version: int | None = Field(
        description="The version it would get now; null when the label it follows was deleted."
    )
    follows: str = Field(description="'version 3', 'label production' or 'latest'.")
