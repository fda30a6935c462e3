"""The `Persona` dataclass and how it renders into a system prompt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_persona.errors import MissingVariablesError, PersonaDefinitionError
from llm_persona.personas import template
from llm_persona.personas.template import MissingPolicy

DEFAULT_TONE = "helpful and professional"

#: Fields a child persona may list under `replace:` to use its own value instead of extending the parent's.
MERGEABLE_FIELDS = (
    "role",
    "company",
    "tone",
    "capabilities",
    "constraints",
    "greeting",
    "custom_sections",
    "variables",
    "description",
)


@dataclass
class Variable:
    """A declared template variable. With no default it is required unless `required=False` says it
    may be left out (it then renders as an empty string)."""

    description: str | None = None
    default: str | None = None
    required: bool | None = None

    @property
    def is_required(self) -> bool:
        return self.default is None if self.required is None else self.required

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        if self.default is not None:
            out["default"] = self.default
        if self.required is not None:
            out["required"] = self.required
        return out


@dataclass(frozen=True)
class PromptLine:
    """One line of a rendered prompt and the field it came from, e.g. `capabilities[1]`."""

    text: str
    field: str


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered system prompt, kept as blocks of lines so callers can see where text came from."""

    blocks: tuple[tuple[PromptLine, ...], ...]
    dynamic: tuple[bool, ...]  # per block: does it use per-call variables?

    @property
    def text(self) -> str:
        return "\n\n".join("\n".join(line.text for line in block) for block in self.blocks)

    @property
    def static_prefix(self) -> str:
        """The leading blocks that use no variables: the part a provider prompt cache can keep."""
        static: list[str] = []
        for block, is_dynamic in zip(self.blocks, self.dynamic, strict=True):
            if is_dynamic:
                break
            static.append("\n".join(line.text for line in block))
        return "\n\n".join(static)

    @property
    def lines(self) -> list[PromptLine]:
        return [line for block in self.blocks for line in block]

    def __str__(self) -> str:
        return self.text


@dataclass
class Persona:
    """A named agent identity. The first eight fields and their defaults are the seed's; the rest
    add inheritance (`parent`, `replace`), templates (`variables`), and version labels (`labels`)."""

    name: str
    role: str | None = None
    company: str | None = None
    tone: str = DEFAULT_TONE
    capabilities: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    greeting: str | None = None
    custom_sections: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    replace: list[str] = field(default_factory=list)
    variables: dict[str, Variable] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    description: str | None = None

    def __post_init__(self) -> None:
        _check_definition(self)

    # --- rendering -----------------------------------------------------------------------------

    def build_system_prompt(self, **variables: object) -> str:
        """The system prompt, with `{placeholders}` filled from `variables` and declared defaults.

        Raises `MissingVariablesError` naming every variable that has no value.
        """
        return self.render(variables).text

    def build_greeting(self, **variables: object) -> str | None:
        """The greeting with its placeholders filled, or None when the persona has none."""
        if self.greeting is None:
            return None
        values = self._values(variables)
        self._check_missing({"greeting": self.greeting}, values)
        return template.render(self.greeting, values, "empty")

    def render(
        self,
        variables: Mapping[str, object] | None = None,
        *,
        missing: MissingPolicy = "error",
        order: Literal["seed", "cache"] = "seed",
    ) -> RenderedPrompt:
        """Render into blocks of lines.

        `missing="keep"` leaves unfilled `{placeholders}` in the text and `"empty"` drops them; the
        default raises. `order="cache"` moves blocks that use variables after the ones that do not,
        so the static text forms a prefix that provider prompt caches can reuse across sessions.
        """
        values = self._values(variables or {})
        raw = self._raw_blocks()
        if missing == "error":
            self._check_missing({f: text for block in raw for text, f in block}, values)
            missing = "empty"  # every remaining gap is an optional variable left out
        blocks: list[tuple[PromptLine, ...]] = []
        dynamic: list[bool] = []
        for block in raw:
            uses_variables = any(template.placeholders(text) for text, _ in block)
            rendered = tuple(
                PromptLine(line, f)
                for text, f in block
                for line in template.render(text, values, missing).split("\n")
            )
            blocks.append(rendered)
            dynamic.append(uses_variables)
        if order == "cache":
            keyed = sorted(range(len(blocks)), key=lambda i: dynamic[i])
            blocks = [blocks[i] for i in keyed]
            dynamic = [dynamic[i] for i in keyed]
        return RenderedPrompt(tuple(blocks), tuple(dynamic))

    def placeholders(self) -> dict[str, list[str]]:
        """Every variable the persona's text uses -> the fields that use it."""
        used: dict[str, list[str]] = {}
        for f, text in self.text_fields():
            for name in template.placeholders(text):
                used.setdefault(name, []).append(f)
        return used

    def text_fields(self) -> list[tuple[str, str]]:
        """(field path, text) for every templated text field, in rendering order."""
        out: list[tuple[str, str]] = []
        for f in ("role", "company", "tone"):
            value = getattr(self, f)
            if value is not None:
                out.append((f, value))
        out += [(f"capabilities[{i}]", c) for i, c in enumerate(self.capabilities)]
        out += [(f"constraints[{i}]", c) for i, c in enumerate(self.constraints)]
        out += [(f"custom_sections.{k}", v) for k, v in self.custom_sections.items()]
        if self.greeting is not None:
            out.append(("greeting", self.greeting))
        return out

    # --- internals -----------------------------------------------------------------------------

    def _raw_blocks(self) -> list[list[tuple[str, str]]]:
        """The seed's layout, unrendered: blocks of (template text, field path)."""
        role = self.role or ""
        name = self.name.replace("{", "{{").replace("}", "}}")  # a name is never a template
        header = f"You are {name}, a {role}"
        header += f" at {self.company}." if self.company else "."
        blocks: list[list[tuple[str, str]]] = [[(header, "role" if not self.company else "role, company")]]
        blocks.append([(f"Tone: {self.tone}", "tone")])
        if self.capabilities:
            blocks.append(
                [("You can:", "capabilities")]
                + [(f"- {c}", f"capabilities[{i}]") for i, c in enumerate(self.capabilities)]
            )
        if self.constraints:
            blocks.append(
                [("Do not:", "constraints")]
                + [(f"- {c}", f"constraints[{i}]") for i, c in enumerate(self.constraints)]
            )
        for key, content in self.custom_sections.items():
            blocks.append([(content, f"custom_sections.{key}")])
        return blocks

    def _values(self, passed: Mapping[str, object]) -> dict[str, object]:
        values: dict[str, object] = {
            name: var.default
            for name, var in self.variables.items()
            if var.default is not None and not var.is_required
        }
        values.update(passed)
        return values

    def _check_missing(self, texts: Mapping[str, str], values: Mapping[str, object]) -> None:
        missing: dict[str, list[str]] = {}
        for f, text in texts.items():
            for name in template.placeholders(text):
                if name in values:
                    continue
                declared = self.variables.get(name)
                if declared is not None and not declared.is_required:
                    continue
                missing.setdefault(name, []).append(f)
        if missing:
            raise MissingVariablesError(self.name, missing)


# --- definition checks ----------------------------------------------------------------------------


def _check_definition(p: Persona) -> None:
    """Reject values of the wrong kind at once, so a bad YAML entry fails here, clearly, not later."""
    who = f"persona {p.name!r}" if isinstance(p.name, str) else "a persona"
    if not isinstance(p.name, str) or not p.name.strip():
        raise PersonaDefinitionError(f"{who}: 'name' must be a non-empty string, got {p.name!r}.")
    for f in ("role", "company", "greeting", "parent", "description"):
        _expect_optional_str(who, f, getattr(p, f))
    if not isinstance(p.tone, str):
        raise PersonaDefinitionError(_wrong(who, "tone", "a string", p.tone))
    for f in ("capabilities", "constraints", "labels", "replace"):
        value = getattr(p, f)
        if isinstance(value, tuple):
            value = list(value)
            setattr(p, f, value)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise PersonaDefinitionError(
                _wrong(who, f, "a list of strings", value) + " In YAML write it as a list: `- item`."
            )
    if not isinstance(p.custom_sections, dict) or not all(
        isinstance(k, str) and (isinstance(v, str) or (v is None and p.parent is not None))
        for k, v in p.custom_sections.items()
    ):
        raise PersonaDefinitionError(
            _wrong(who, "custom_sections", "a mapping of section name to text", p.custom_sections)
            + " (null removes an inherited section, so it needs a parent)"
        )
    unknown = [f for f in p.replace if f not in MERGEABLE_FIELDS]
    if unknown:
        raise PersonaDefinitionError(
            f"{who}: 'replace' names {unknown}, which are not mergeable fields; "
            f"use any of {list(MERGEABLE_FIELDS)}."
        )
    p.variables = _normalise_variables(who, p.variables)
    if p.parent is None and not p.role:
        raise PersonaDefinitionError(
            f"{who} has no role: give it role=... (e.g. 'Customer Support Specialist') "
            "or a parent=... to inherit one from."
        )
    if p.parent == p.name:
        raise PersonaDefinitionError(f"{who} names itself as its parent; pick another persona.")


def _normalise_variables(who: str, raw: object) -> dict[str, Variable]:
    if not isinstance(raw, dict):
        raise PersonaDefinitionError(_wrong(who, "variables", "a mapping of variable name to settings", raw))
    out: dict[str, Variable] = {}
    for name, spec in raw.items():
        where = f"variables.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise PersonaDefinitionError(
                f"{who}: variable name {name!r} is not an identifier; use letters, digits and '_'."
            )
        if isinstance(spec, Variable):
            var = spec
        elif spec is None:
            var = Variable()
        elif isinstance(spec, dict):
            unknown = set(spec) - {"description", "default", "required"}
            if unknown:
                raise PersonaDefinitionError(
                    f"{who}: {where} has unknown keys {sorted(unknown)}; "
                    "a variable takes description, default and required."
                )
            var = Variable(**spec)
        else:
            raise PersonaDefinitionError(_wrong(who, where, "a mapping (description/default/required)", spec))
        for f in ("description", "default"):
            _expect_optional_str(who, f"{where}.{f}", getattr(var, f))
        if var.required is not None and not isinstance(var.required, bool):
            raise PersonaDefinitionError(_wrong(who, f"{where}.required", "true or false", var.required))
        out[name] = var
    return out


def _expect_optional_str(who: str, f: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise PersonaDefinitionError(_wrong(who, f, "a string", value))


def _wrong(who: str, f: str, expected: str, value: object) -> str:
    return f"{who}: {f!r} must be {expected}, got {type(value).__name__} {value!r}."
