"""Sticky, weighted A/B assignment of subjects (user ids) to persona versions or labels."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm_persona.errors import PersonaError
from llm_persona.personas.persona import Persona

if TYPE_CHECKING:
    from llm_persona.personas.registry import PersonaRegistry

_BUCKETS = 10_000


@dataclass(frozen=True)
class Variant:
    """One arm of a split: a version number or a label of the persona, and its relative weight."""

    name: str
    version: int | None = None
    label: str | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if (self.version is None) == (self.label is None):
            raise PersonaError(f"Variant {self.name!r}: give exactly one of version= or label=.")
        if not self.weight > 0:
            raise PersonaError(f"Variant {self.name!r}: weight must be positive, got {self.weight!r}.")


@dataclass(frozen=True)
class Assignment:
    subject: str
    variant: Variant
    bucket: int  # 0..9999, from the hash of (split, persona, subject)
    version: int  # the version the variant resolved to
    persona: Persona


@dataclass(frozen=True)
class Split:
    """Assigns each subject to one variant, always the same one for the same `salt` and weights.

    Change `salt` to reshuffle everyone for a new experiment.
    """

    persona: str
    variants: tuple[Variant, ...]
    salt: str = ""

    def __init__(self, persona: str, variants: Iterable[Variant], salt: str = "") -> None:
        object.__setattr__(self, "persona", persona)
        object.__setattr__(self, "variants", tuple(variants))
        object.__setattr__(self, "salt", salt)
        if not self.variants:
            raise PersonaError(f"Split for {persona!r} has no variants; give at least one Variant(...).")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise PersonaError(f"Split for {persona!r} has duplicate variant names: {names}.")

    def bucket(self, subject: str) -> int:
        digest = hashlib.sha256(f"{self.salt}\x00{self.persona}\x00{subject}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % _BUCKETS

    def variant_for(self, subject: str) -> Variant:
        """The variant `subject` falls into: stable across processes and runs."""
        point = self.bucket(subject) / _BUCKETS * sum(v.weight for v in self.variants)
        for variant in self.variants:
            if point < variant.weight:
                return variant
            point -= variant.weight
        return self.variants[-1]

    def assign(self, registry: PersonaRegistry, subject: str) -> Assignment:
        variant = self.variant_for(subject)
        found = registry.lookup(self.persona, version=variant.version, label=variant.label)
        return Assignment(
            subject,
            variant,
            self.bucket(subject),
            found.number,
            registry.get(self.persona, version=found.number),
        )

    def report(self, subjects: Iterable[str]) -> dict[str, int]:
        """How many of `subjects` each variant gets (every variant listed, zero included)."""
        counts = Counter(self.variant_for(s).name for s in subjects)
        return {v.name: counts.get(v.name, 0) for v in self.variants}
