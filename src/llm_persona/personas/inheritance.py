"""Merging a child persona onto its resolved parent, and remembering where each value came from.

Scalars override (a field left at its default inherits), lists extend (parent first, no
duplicates), `custom_sections` and `variables` merge by key (a `null` section removes an inherited
one). A field named in the child's `replace:` takes the child's value as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_persona.personas.persona import DEFAULT_TONE, Persona

#: field path ("role", "capabilities[2]", "custom_sections.escalation") -> persona that supplied it
Origins = dict[str, str]


@dataclass(frozen=True)
class Resolved:
    persona: Persona
    origins: Origins


def resolve_root(definition: Persona) -> Resolved:
    """A persona without a parent resolves to itself."""
    persona = copy_persona(definition)
    persona.custom_sections = {k: v for k, v in persona.custom_sections.items() if v is not None}
    return Resolved(persona, _origins_of(persona, definition.name))


def merge(parent: Resolved, child: Persona) -> Resolved:
    """`child` (a definition naming `parent` as its parent) laid over the resolved parent."""
    base, origins = parent.persona, dict(parent.origins)
    mine = child.name
    replace = set(child.replace)

    def scalar(field: str, child_value: Any, is_set: bool) -> Any:
        if is_set or field in replace:
            origins[field] = mine
            return child_value
        return getattr(base, field)

    role = scalar("role", child.role, child.role is not None)
    company = scalar("company", child.company, child.company is not None)
    tone = scalar("tone", child.tone, child.tone != DEFAULT_TONE)
    greeting = scalar("greeting", child.greeting, child.greeting is not None)
    description = scalar("description", child.description, child.description is not None)

    def listed(field: str, own: list[str]) -> list[str]:
        inherited: list[str] = [] if field in replace else list(getattr(base, field))
        sources = [origins.get(f"{field}[{i}]", base.name) for i in range(len(inherited))]
        for item in own:
            if item not in inherited:
                inherited.append(item)
                sources.append(mine)
        for key in [k for k in origins if k.startswith(f"{field}[")]:
            del origins[key]
        origins.update({f"{field}[{i}]": src for i, src in enumerate(sources)})
        return inherited

    capabilities = listed("capabilities", child.capabilities)
    constraints = listed("constraints", child.constraints)

    if "custom_sections" in replace:
        for key in [k for k in origins if k.startswith("custom_sections.")]:
            del origins[key]
        sections: dict[str, str] = {}
    else:
        sections = dict(base.custom_sections)
    for key, text in child.custom_sections.items():
        if text is None:
            sections.pop(key, None)
            origins.pop(f"custom_sections.{key}", None)
        else:
            sections[key] = text
            origins[f"custom_sections.{key}"] = mine

    variables = {} if "variables" in replace else dict(base.variables)
    variables.update(child.variables)

    persona = Persona(
        name=child.name,
        role=role,
        company=company,
        tone=tone,
        capabilities=capabilities,
        constraints=constraints,
        greeting=greeting,
        custom_sections=sections,
        parent=child.parent,
        replace=list(child.replace),
        variables=variables,
        labels=list(child.labels),
        description=description,
    )
    return Resolved(persona, origins)


def copy_persona(p: Persona) -> Persona:
    """A copy that shares no list or dict with `p`, so the caller may change it freely."""
    return Persona(
        name=p.name,
        role=p.role,
        company=p.company,
        tone=p.tone,
        capabilities=list(p.capabilities),
        constraints=list(p.constraints),
        greeting=p.greeting,
        custom_sections=dict(p.custom_sections),
        parent=p.parent,
        replace=list(p.replace),
        variables=dict(p.variables),
        labels=list(p.labels),
        description=p.description,
    )


def _origins_of(p: Persona, source: str) -> Origins:
    origins: Origins = dict.fromkeys(("role", "company", "tone", "greeting", "description"), source)
    origins.update({f"capabilities[{i}]": source for i in range(len(p.capabilities))})
    origins.update({f"constraints[{i}]": source for i in range(len(p.constraints))})
    origins.update({f"custom_sections.{k}": source for k in p.custom_sections})
    return origins
