"""Versions of a persona: a fingerprint of what renders, and the record of each version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llm_persona.personas.inheritance import Origins
from llm_persona.personas.persona import Persona


def canonical_content(p: Persona) -> dict[str, Any]:
    """The content that decides how `p` behaves, as plain JSON-able data in a stable order.

    Structure (`parent`, `replace`) and pointers (`labels`) are left out: two definitions that
    render the same persona are the same content.
    """
    return {
        "name": p.name,
        "role": p.role,
        "company": p.company,
        "tone": p.tone,
        "capabilities": list(p.capabilities),
        "constraints": list(p.constraints),
        "greeting": p.greeting,
        "custom_sections": [[k, v] for k, v in p.custom_sections.items()],
        "variables": {k: v.as_dict() for k, v in sorted(p.variables.items())},
        "description": p.description,
    }


def fingerprint(p: Persona) -> str:
    """sha256 (hex) of the canonical content of a resolved persona."""
    data = json.dumps(canonical_content(p), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class PersonaVersion:
    """One version of a persona: the resolved persona it renders, and the definition it came from."""

    name: str
    number: int
    fingerprint: str
    persona: Persona = field(repr=False)  # resolved: inheritance applied
    definition: Persona = field(repr=False)  # as defined, before inheritance
    origins: Origins = field(repr=False, compare=False)
    parent_version: int | None = None  # the parent's version it was resolved against
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC), compare=False)

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]


def persona_from_content(content: dict[str, Any]) -> Persona:
    """The persona that `canonical_content` describes (how stored versions come back to life)."""
    fields = dict(content)
    fields["custom_sections"] = dict(fields.get("custom_sections", []))
    return Persona(**fields)
