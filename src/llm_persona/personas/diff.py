"""A readable diff between two versions of a persona: the fields that changed and the prompt diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from llm_persona.personas.versions import PersonaVersion, canonical_content


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class PersonaDiff:
    name: str
    old: int
    new: int
    changes: tuple[FieldChange, ...]
    prompt_diff: str  # unified diff of the two prompts, placeholders left as `{name}`

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __str__(self) -> str:
        if not self.changes:
            return f"{self.name} v{self.old} and v{self.new} have the same content."
        lines = [f"{self.name}: v{self.old} -> v{self.new}"]
        lines += [f"  {c.field}: {c.before!r} -> {c.after!r}" for c in self.changes]
        if self.prompt_diff:
            lines += ["", self.prompt_diff.rstrip("\n")]
        return "\n".join(lines)


def diff_versions(old: PersonaVersion, new: PersonaVersion) -> PersonaDiff:
    before, after = canonical_content(old.persona), canonical_content(new.persona)
    changes = tuple(FieldChange(key, before[key], after[key]) for key in before if before[key] != after[key])
    old_text = old.persona.render(missing="keep").text.splitlines()
    new_text = new.persona.render(missing="keep").text.splitlines()
    prompt_diff = "\n".join(
        difflib.unified_diff(
            old_text, new_text, f"{old.name} v{old.number}", f"{new.name} v{new.number}", lineterm=""
        )
    )
    return PersonaDiff(old.name, old.number, new.number, changes, prompt_diff)
