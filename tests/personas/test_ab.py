"""Sticky, weighted A/B assignment."""

import pytest

from llm_persona import Persona, PersonaError, PersonaRegistry, Split, Variant


@pytest.fixture
def registry() -> PersonaRegistry:
    r = PersonaRegistry()
    r.define(Persona(name="Maya", role="Support", labels=["production"]))
    r.define(Persona(name="Maya", role="Support", tone="warm", labels=["candidate"]))
    return r


def test_assignment_is_sticky_and_reproducible(registry: PersonaRegistry) -> None:
    split = Split("Maya", [Variant("control", label="production"), Variant("warm", version=2)], salt="exp1")
    first = registry.assign(split, "user-42")
    again = Split("Maya", [Variant("control", label="production"), Variant("warm", version=2)], salt="exp1")
    assert [registry.assign(again, "user-42").variant.name for _ in range(5)] == [first.variant.name] * 5
    assert first.version == (1 if first.variant.name == "control" else 2)
    assert first.persona.tone == ("helpful and professional" if first.version == 1 else "warm")


def test_weights_are_respected_and_reported(registry: PersonaRegistry) -> None:
    split = Split("Maya", [Variant("a", version=1, weight=9), Variant("b", version=2, weight=1)])
    report = split.report(f"user-{i}" for i in range(20_000))
    assert report.keys() == {"a", "b"}
    assert 0.88 < report["a"] / 20_000 < 0.92


def test_salt_reshuffles(registry: PersonaRegistry) -> None:
    variants = [Variant("a", version=1), Variant("b", version=2)]
    one = [Split("Maya", variants, salt="1").variant_for(f"u{i}").name for i in range(200)]
    two = [Split("Maya", variants, salt="2").variant_for(f"u{i}").name for i in range(200)]
    assert one != two


def test_bad_splits_are_refused() -> None:
    with pytest.raises(PersonaError, match="exactly one of version= or label="):
        Variant("x")
    with pytest.raises(PersonaError, match="weight must be positive"):
        Variant("x", version=1, weight=0)
    with pytest.raises(PersonaError, match="no variants"):
        Split("Maya", [])
    with pytest.raises(PersonaError, match="duplicate variant names"):
        Split("Maya", [Variant("x", version=1), Variant("x", version=2)])
