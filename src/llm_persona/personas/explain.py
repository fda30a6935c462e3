"""Which persona layer each line of a rendered prompt came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llm_persona.personas.versions import PersonaVersion


@dataclass(frozen=True)
class ExplainedLine:
    text: str
    field: str
    source: str  # the persona (this one or an ancestor) that supplied the field


@dataclass(frozen=True)
class Explanation:
    name: str
    version: int
    lines: tuple[ExplainedLine, ...]

    def __str__(self) -> str:
        width = max((len(f"{line.source}:{line.field}") for line in self.lines), default=0)
        return "\n".join(f"{f'{line.source}:{line.field}':<{width}} | {line.text}" for line in self.lines)


def explain(version: PersonaVersion, variables: Mapping[str, object]) -> Explanation:
    """Render `version` (unfilled placeholders kept) and label every line with its source."""
    rendered = version.persona.render(variables, missing="keep")
    lines: list[ExplainedLine] = []
    for line in rendered.lines:
        fields = [f.strip() for f in line.field.split(",")]
        sources = list(dict.fromkeys(version.origins.get(f, version.name) for f in fields))
        lines.append(ExplainedLine(line.text, line.field, "+".join(sources)))
    return Explanation(version.name, version.number, tuple(lines))
