"""Loading persona files into a registry: good files load, bad ones raise one `PersonaFileError`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llm_persona import Persona, PersonaFileError, PersonaRegistry, validate_file
from llm_persona.personas.loader import load_definitions

FILES = Path(__file__).parent / "files"
BAD = FILES / "bad"


def test_the_seed_yaml_example_loads() -> None:
    registry = PersonaRegistry.from_file(FILES / "seed.yaml")
    assert registry.list_names() == ["Maya", "MayaPremium"]
    maya = registry.get("Maya")
    assert maya.greeting == "Hi, I'm Maya from Acme support."
    prompt = maya.build_system_prompt(user_name="John")
    assert prompt.startswith("You are Maya, a Customer Support Specialist at Acme Corp.\n\n")
    assert prompt.endswith("Escalate to a human when John asks.")
    assert registry.get("MayaPremium").capabilities == [
        "Look up order status",
        "Process refunds under $50",
        "Process refunds under $500",
    ]


def test_the_seeds_own_loop_works_for_every_field_and_matches_from_file() -> None:
    config = yaml.safe_load((FILES / "every_field.yaml").read_text())
    by_hand = PersonaRegistry()
    for name, fields in config.items():
        by_hand.define(Persona(name=name, **fields))
    loaded = PersonaRegistry.from_file(FILES / "every_field.yaml")
    assert loaded.list_names() == by_hand.list_names() == ["Base", "Premium"]
    for name in ("Base", "Premium"):
        assert loaded.get(name) == by_hand.get(name)
    premium = loaded.get("Premium")
    assert premium.capabilities == ["Process refunds under $500"]  # replaced, not extended
    assert list(premium.custom_sections) == ["escalation"]  # null removed the inherited section
    assert loaded.get("Base").variables["agent_name"].default == "Maya"


def test_json_files_load() -> None:
    registry = PersonaRegistry.from_file(FILES / "good.json")
    assert registry.get("AlexUS").role == "Sales Assistant"
    assert registry.get("AlexUS").variables["region"].default == "US"
    assert registry.get("Alex").capabilities == ["Quote prices", "Book demos"]


def test_a_child_may_come_before_its_parent() -> None:
    registry = PersonaRegistry.from_file(FILES / "forward.yaml")
    assert registry.get("Child").capabilities == ["Speak English", "Speak German", "Speak French"]
    assert registry.get("Child").role == "Translator"


def test_definitions_come_in_file_order() -> None:
    assert [p.name for p in load_definitions(FILES / "forward.yaml", set())] == ["Child", "Middle", "Root"]
    assert [p.name for p in load_definitions(FILES / "folder", set())] == ["Docs", "Base", "Sales"]


def test_a_folder_loads_every_persona_file() -> None:
    registry = PersonaRegistry.from_file(FILES / "folder")  # notes.txt is left alone
    assert sorted(registry.list_names()) == ["Base", "Docs", "Sales"]
    assert registry.get("Docs").tone == "plain"  # parent in another file, later in name order
    assert registry.get("Sales").role == "Sales Assistant"


def test_a_parent_already_in_the_registry_is_known(tmp_path: Path) -> None:
    path = tmp_path / "kid.yaml"
    path.write_text("Kid:\n  parent: Root\n  tone: playful\n")
    registry = PersonaRegistry()
    registry.define(Persona(name="Root", role="Tutor"))
    registry.load(path)
    assert registry.get("Kid").role == "Tutor"
    with pytest.raises(PersonaFileError):
        PersonaRegistry.from_file(path)


def test_a_bad_file_raises_one_error_with_every_problem_and_defines_nothing() -> None:
    registry = PersonaRegistry()
    registry.define(Persona(name="Existing", role="Helper"))
    with pytest.raises(PersonaFileError) as caught:
        registry.load(BAD / "several.yaml")
    assert caught.value.problems == validate_file(BAD / "several.yaml")
    assert len(caught.value.problems) == 4
    assert registry.list_names() == ["Existing"]
    assert f"{BAD / 'several.yaml'}:3:3: unknown field 'capabilites'" in str(caught.value)


def test_from_file_on_a_bad_file_raises_persona_file_error() -> None:
    with pytest.raises(PersonaFileError) as caught:
        PersonaRegistry.from_file(BAD / "unknown_field.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (3, 3, "Maya.capabilites")


def test_same_name_in_two_files_does_not_load() -> None:
    with pytest.raises(PersonaFileError) as caught:
        PersonaRegistry.from_file(FILES / "clash")
    assert [p.path for p in caught.value.problems] == ["Maya"]


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir()))
def test_every_bad_fixture_raises_persona_file_error(name: str) -> None:
    with pytest.raises(PersonaFileError) as caught:
        PersonaRegistry.from_file(BAD / name)
    assert caught.value.problems
    assert all(p.file == str(BAD / name) for p in caught.value.problems)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"Maya:\n  role: \xff\xfe\n", "not UTF-8"),
        (b"Maya: !!python/object:os.system {}\n", "Remove the tag"),
        (b"? [a, b]\n: {role: x}\n", "unhashable"),
        (b"Maya: {role: x}\n---\nAlex: {role: y}\n", "single document"),
        (b"Maya: &m\n  role: x\n  capabilities: *m\n", "recursive"),
        (b"Maya: &m [*m]\n", "recursive"),
        (b"Maya: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nests too deeply"),
    ],
)
def test_garbage_never_raises_a_bare_error(tmp_path: Path, text: bytes, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(text)
    with pytest.raises(PersonaFileError) as caught:
        PersonaRegistry.from_file(path)
    assert any(message in f"{p.path} {p.message} {p.hint}" for p in caught.value.problems), caught.value
