"""`PersonaRegistry`: personas by name, with versions, labels and inheritance."""

from __future__ import annotations

import difflib
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llm_persona.errors import InheritanceError, PersonaError, PersonaNotFoundError
from llm_persona.personas.inheritance import Resolved, copy_persona, merge, resolve_root
from llm_persona.personas.persona import Persona
from llm_persona.personas.versions import PersonaVersion, fingerprint

if TYPE_CHECKING:
    from llm_persona.personas.ab import Assignment, Split
    from llm_persona.personas.diff import PersonaDiff
    from llm_persona.personas.explain import Explanation


@dataclass
class _History:
    versions: list[PersonaVersion] = field(default_factory=list)
    current: int = 0  # number of the version the latest definition resolves to
    labels: dict[str, list[int]] = field(default_factory=dict)  # label -> positions, newest last


class PersonaRegistry:
    """Personas by name. `define()` a persona, `get()` it back resolved (inheritance applied).

    Redefining a name with changed content makes a new version; the same content keeps its
    version. Labels (`production`, `staging`, ...) point at versions and can be moved back.
    """

    def __init__(self) -> None:
        self._definitions: dict[str, Persona] = {}
        self._children: dict[str, set[str]] = {}
        self._histories: dict[str, _History] = {}
        self._unapplied_labels: set[str] = set()

    # --- loading ---------------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PersonaRegistry:
        """A registry holding the personas of a YAML or JSON file, or of every such file in a folder."""
        registry = cls()
        registry.load(path)
        return registry

    def load(self, path: str | os.PathLike[str]) -> list[PersonaVersion | None]:
        """Define every persona of a file or folder, parents first. A file with any problem raises
        `PersonaFileError` listing all of them, and defines nothing."""
        from llm_persona.personas.loader import load_definitions

        definitions = load_definitions(Path(path), known=set(self._definitions))
        return self.define_all(definitions)

    def define_all(self, personas: list[Persona]) -> list[PersonaVersion | None]:
        """Define several personas, parents before children whatever their order."""
        pending = {p.name: p for p in personas}
        ordered: list[Persona] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name not in pending or name in visiting:
                return
            visiting.add(name)
            parent = pending[name].parent
            if parent is not None:
                visit(parent)
            ordered.append(pending.pop(name))

        for p in personas:
            visit(p.name)
        return [self.define(p) for p in ordered]

    # --- defining --------------------------------------------------------------------------------

    def define(self, persona: Persona) -> PersonaVersion | None:
        """Store `persona` by name and return the version it now resolves to.

        A persona whose parent is not defined yet is kept and resolved when the parent arrives
        (`define` returns None and `get()` raises until then). A cycle raises and changes nothing.
        """
        definition = copy_persona(persona)
        name = definition.name
        self._check_no_cycle(definition)
        previous = self._definitions.get(name)
        self._definitions[name] = definition
        if previous is not None and previous.parent != definition.parent and previous.parent is not None:
            self._children.get(previous.parent, set()).discard(name)
        if definition.parent is not None:
            self._children.setdefault(definition.parent, set()).add(name)
        self._unapplied_labels.add(name)
        self._cascade(name)
        history = self._histories.get(name)
        if history is None or not history.versions or self._is_stale(name):
            return None
        return self._version(name, history.current)

    def _check_no_cycle(self, definition: Persona) -> None:
        chain = [definition.name]
        parent = definition.parent
        while parent is not None:
            if parent in chain:
                loop = [*chain[chain.index(parent) :], parent]
                raise InheritanceError(
                    f"Inheritance cycle: {' -> '.join(loop)}. Remove 'parent' from one of these personas.",
                    loop,
                )
            chain.append(parent)
            known = self._definitions.get(parent)
            parent = known.parent if known is not None else None

    def _cascade(self, name: str) -> None:
        """Re-resolve `name` and every persona below it; record new versions where content changed."""
        queue = deque([name])
        while queue:
            current = queue.popleft()
            resolved, parent_version = self._resolve_definition(current)
            if resolved is None:
                continue  # parent not defined yet: resolved when it is
            self._record(current, resolved, parent_version)
            queue.extend(sorted(self._children.get(current, ())))

    def _resolve_definition(self, name: str) -> tuple[Resolved | None, int | None]:
        definition = self._definitions[name]
        if definition.parent is None:
            return resolve_root(definition), None
        parent_history = self._histories.get(definition.parent)
        if parent_history is None or not parent_history.versions or self._is_stale(definition.parent):
            return None, None
        parent = self._version(definition.parent, parent_history.current)
        return merge(Resolved(parent.persona, parent.origins), definition), parent.number

    def _is_stale(self, name: str) -> bool:
        """True when `name`'s latest definition could not be resolved (its own parent is missing)."""
        definition = self._definitions[name]
        while definition.parent is not None:
            parent = self._definitions.get(definition.parent)
            if parent is None:
                return True
            definition = parent
        return False

    def _record(self, name: str, resolved: Resolved, parent_version: int | None) -> None:
        history = self._histories.setdefault(name, _History())
        fp = fingerprint(resolved.persona)
        same = next((v for v in history.versions if v.fingerprint == fp), None)
        if same is None:
            same = PersonaVersion(
                name=name,
                number=len(history.versions) + 1,
                fingerprint=fp,
                persona=resolved.persona,
                definition=self._definitions[name],
                origins=resolved.origins,
                parent_version=parent_version,
            )
            history.versions.append(same)
        history.current = same.number
        if name in self._unapplied_labels:
            self._unapplied_labels.discard(name)
            for label in self._definitions[name].labels:
                self._point(history, label, same.number)

    # --- reading ---------------------------------------------------------------------------------

    def get(self, name: str, version: int | None = None, label: str | None = None) -> Persona:
        """The resolved persona: its latest definition, or a `version` number, or what `label` points at.

        The result is a copy; changing it does not change the registry.
        """
        return copy_persona(self.lookup(name, version=version, label=label).persona)

    def lookup(self, name: str, *, version: int | None = None, label: str | None = None) -> PersonaVersion:
        """Like `get()`, but the whole version record: number, fingerprint, definition, origins."""
        if version is not None and label is not None:
            raise PersonaError(f"Persona {name!r}: pass version= or label=, not both.")
        history = self._history(name)
        if label is not None:
            positions = history.labels.get(label)
            if not positions:
                known = ", ".join(sorted(history.labels)) or "none yet"
                raise PersonaNotFoundError(
                    f"Persona {name!r} has no label {label!r} (labels: {known}). "
                    f"Point it at a version with registry.set_label({name!r}, {label!r}, version)."
                )
            return self._version(name, positions[-1])
        if version is not None:
            return self._version(name, version)
        if self._is_stale(name):
            self._raise_missing_parent(name)
        return self._version(name, history.current)

    def list_names(self) -> list[str]:
        """Every defined persona name, in the order first defined."""
        return list(self._definitions)

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    def __len__(self) -> int:
        return len(self._definitions)

    def history(self, name: str) -> list[PersonaVersion]:
        """Every version of `name`, oldest first."""
        return list(self._history(name).versions)

    def labels(self, name: str) -> dict[str, int]:
        """label -> version number, for the labels `name` has."""
        self._require(name)
        history = self._histories.get(name)
        if history is None:
            return {}
        return {label: positions[-1] for label, positions in history.labels.items() if positions}

    def definition(self, name: str) -> Persona:
        """The latest definition of `name` as given, before inheritance (a copy)."""
        self._require(name)
        return copy_persona(self._definitions[name])

    # --- labels ----------------------------------------------------------------------------------

    def set_label(self, name: str, label: str, version: int) -> PersonaVersion:
        """Point `label` at `version` of `name` (the label's previous target is kept for rollback)."""
        target = self._version(name, version)
        self._point(self._histories[name], label, version)
        return target

    def rollback(self, name: str, label: str) -> PersonaVersion:
        """Move `label` back to where it pointed before its last move."""
        history = self._history(name)
        positions = history.labels.get(label, [])
        if len(positions) < 2:
            raise PersonaError(
                f"Label {label!r} of persona {name!r} has no earlier version to roll back to; "
                f"point it explicitly with set_label({name!r}, {label!r}, version)."
            )
        positions.pop()
        return self._version(name, positions[-1])

    @staticmethod
    def _point(history: _History, label: str, number: int) -> None:
        if not label or not isinstance(label, str):
            raise PersonaError(f"A label must be a non-empty string, got {label!r}.")
        positions = history.labels.setdefault(label, [])
        if not positions or positions[-1] != number:
            positions.append(number)

    # --- views -----------------------------------------------------------------------------------

    def diff(self, name: str, a: int | str, b: int | str) -> PersonaDiff:
        """What changed between two versions of `name` (each a version number or a label)."""
        from llm_persona.personas.diff import diff_versions

        return diff_versions(self._pick(name, a), self._pick(name, b))

    def explain(
        self, name: str, *, version: int | None = None, label: str | None = None, **variables: object
    ) -> Explanation:
        """Each line of the rendered prompt with the field and the persona layer it came from."""
        from llm_persona.personas.explain import explain

        return explain(self.lookup(name, version=version, label=label), variables)

    def assign(self, split: Split, subject: str) -> Assignment:
        """The variant of `split` that `subject` (e.g. a user id) always gets, with its persona."""
        return split.assign(self, subject)

    # --- internals -------------------------------------------------------------------------------

    def _pick(self, name: str, ref: int | str) -> PersonaVersion:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self.lookup(name, version=int(ref))
        return self.lookup(name, label=ref)

    def _require(self, name: str) -> None:
        if name not in self._definitions:
            close = difflib.get_close_matches(name, self._definitions, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            known = ", ".join(list(self._definitions)[:10]) or "none"
            raise PersonaNotFoundError(
                f"No persona named {name!r}.{hint} Defined: {known}"
                f"{' ...' if len(self._definitions) > 10 else ''}. Define it with registry.define(Persona(...))."
            )

    def _history(self, name: str) -> _History:
        self._require(name)
        history = self._histories.get(name)
        if history is None or not history.versions:
            self._raise_missing_parent(name)
        assert history is not None
        return history

    def _version(self, name: str, number: int) -> PersonaVersion:
        history = self._history(name)
        if not 1 <= number <= len(history.versions):
            raise PersonaNotFoundError(
                f"Persona {name!r} has no version {number}; it has versions 1 to {len(history.versions)}."
            )
        return history.versions[number - 1]

    def _raise_missing_parent(self, name: str) -> None:
        chain = [name]
        definition = self._definitions[name]
        while definition.parent is not None and definition.parent in self._definitions:
            chain.append(definition.parent)
            definition = self._definitions[definition.parent]
        missing = definition.parent
        raise InheritanceError(
            f"Persona {name!r} inherits from {missing!r}, which is not defined "
            f"(chain: {' -> '.join([*chain, str(missing)])}). Define {missing!r} or fix 'parent'.",
            [*chain, str(missing)],
        )
