"""Versions, fingerprints, labels, rollback and diffs."""

import pytest

from llm_persona import Persona, PersonaError, PersonaNotFoundError, PersonaRegistry, fingerprint


def maya(**changes: object) -> Persona:
    fields: dict = {"name": "Maya", "role": "Support", "capabilities": ["Refunds"]}
    fields.update(changes)
    return Persona(**fields)


def test_same_content_keeps_its_version_and_changes_make_new_ones() -> None:
    r = PersonaRegistry()
    v1 = r.define(maya())
    assert v1 is not None
    assert v1.number == 1
    assert r.define(maya()) == v1
    v2 = r.define(maya(tone="warm"))
    assert v2 is not None
    assert v2.number == 2
    assert v2.fingerprint != v1.fingerprint
    assert r.get("Maya").tone == "warm"
    assert r.get("Maya", version=1).tone == "helpful and professional"
    assert [v.number for v in r.history("Maya")] == [1, 2]
    back = r.define(maya())  # reverting to v1's content is v1 again
    assert back is not None
    assert back.number == 1
    assert r.get("Maya").tone == "helpful and professional"


def test_fingerprint_ignores_labels_and_structure_but_not_content() -> None:
    assert fingerprint(maya()) == fingerprint(maya(labels=["production"]))
    assert fingerprint(maya()) != fingerprint(maya(capabilities=["Refunds", "Returns"]))
    assert (
        fingerprint(maya())
        != fingerprint(maya(custom_sections={"a": "1", "b": "2"}))
        != fingerprint(maya(custom_sections={"b": "2", "a": "1"}))
    )
    assert len(fingerprint(maya())) == 64


def test_labels_point_move_and_roll_back() -> None:
    r = PersonaRegistry()
    r.define(maya(labels=["production"]))
    r.define(maya(tone="warm", labels=["staging"]))
    assert r.labels("Maya") == {"production": 1, "staging": 2}
    assert r.get("Maya", label="production").tone == "helpful and professional"
    r.set_label("Maya", "production", 2)
    assert r.get("Maya", label="production").tone == "warm"
    assert r.rollback("Maya", "production").number == 1
    assert r.labels("Maya")["production"] == 1
    with pytest.raises(PersonaError, match="no earlier version to roll back to"):
        r.rollback("Maya", "production")


def test_unknown_versions_and_labels_are_clear_errors() -> None:
    r = PersonaRegistry()
    r.define(maya())
    with pytest.raises(PersonaNotFoundError, match="has no version 3; it has versions 1 to 1"):
        r.get("Maya", version=3)
    with pytest.raises(PersonaNotFoundError, match=r"has no label 'prod' \(labels: none yet\)"):
        r.get("Maya", label="prod")
    with pytest.raises(PersonaNotFoundError):
        r.set_label("Maya", "production", 9)
    with pytest.raises(PersonaError, match="not both"):
        r.get("Maya", version=1, label="x")


def test_registry_keeps_its_own_copies() -> None:
    r = PersonaRegistry()
    p = maya()
    r.define(p)
    p.capabilities.append("Sneaky")
    got = r.get("Maya")
    got.capabilities.append("Also sneaky")
    assert r.get("Maya").capabilities == ["Refunds"]


def test_diff_between_versions_and_labels() -> None:
    r = PersonaRegistry()
    r.define(maya(labels=["production"]))
    r.define(maya(tone="warm", capabilities=["Refunds", "Returns for {user}"]))
    d = r.diff("Maya", "production", 2)
    assert bool(d)
    assert [c.field for c in d.changes] == ["tone", "capabilities"]
    assert str(d) == (
        "Maya: v1 -> v2\n"
        "  tone: 'helpful and professional' -> 'warm'\n"
        "  capabilities: ['Refunds'] -> ['Refunds', 'Returns for {user}']\n"
        "\n"
        "--- Maya v1\n"
        "+++ Maya v2\n"
        "@@ -1,6 +1,7 @@\n"
        " You are Maya, a Support.\n"
        " \n"
        "-Tone: helpful and professional\n"
        "+Tone: warm\n"
        " \n"
        " You can:\n"
        " - Refunds\n"
        "+- Returns for {user}"
    )
    assert not r.diff("Maya", 1, 1)
