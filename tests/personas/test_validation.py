"""`validate_file` and the shipped JSON Schema: every bad input is reported with its position and a fix."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from llm_persona import Persona, Problem, validate_file
from llm_persona.personas.persona import MERGEABLE_FIELDS
from llm_persona.personas.schema import compile_check, persona_check, persona_file_schema

FILES = Path(__file__).parent / "files"
BAD = FILES / "bad"
EXAMPLE = Path(__file__).parents[2] / "examples" / "personas.yaml"


def only_problem(path: Path, **kwargs: Any) -> Problem:
    problems = validate_file(path, **kwargs)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def where(problem: Problem) -> tuple[str, int | None, int | None, str]:
    return problem.file, problem.line, problem.column, problem.path


# --- good files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["seed.yaml", "every_field.yaml", "forward.yaml", "good.json", "folder", "folder/b_base.yml"]
)
def test_good_files_have_no_problems(name: str) -> None:
    assert validate_file(FILES / name) == []


# --- syntax and shape -----------------------------------------------------------------------------


def test_yaml_syntax_error_has_its_line_and_column() -> None:
    problem = only_problem(BAD / "syntax.yaml")
    assert where(problem) == (str(BAD / "syntax.yaml"), 4, 7, "")
    assert problem.message.startswith("YAML syntax error: did not find expected ',' or ']'")
    assert "Close the '[' opened at line 3" in (problem.hint or "")


def test_tab_indentation_hint_says_use_spaces() -> None:
    problem = only_problem(BAD / "tabs.yaml")
    assert where(problem) == (str(BAD / "tabs.yaml"), 3, 1, "")
    assert "indent with spaces" in (problem.hint or "")


def test_json_syntax_error_has_its_line_and_column() -> None:
    problem = only_problem(BAD / "syntax.json")
    assert where(problem) == (str(BAD / "syntax.json"), 4, 5, "")
    assert problem.message == "JSON syntax error: Expecting ',' delimiter"
    assert "missing comma" in (problem.hint or "")


def test_top_level_list_is_not_a_mapping() -> None:
    problem = only_problem(BAD / "top_list.yaml")
    assert where(problem) == (str(BAD / "top_list.yaml"), 1, 1, "")
    assert problem.message == "the top level must be a mapping of persona name to fields, not a list"
    assert "make each name the key" in (problem.hint or "")


def test_empty_file_is_reported() -> None:
    problem = only_problem(BAD / "empty.yaml")
    assert where(problem) == (str(BAD / "empty.yaml"), 1, 1, "")
    assert problem.message == "the file is empty"
    assert "Maya:" in (problem.hint or "")


def test_entry_that_is_not_a_mapping() -> None:
    problem = only_problem(BAD / "entry_string.yaml")
    assert where(problem) == (str(BAD / "entry_string.yaml"), 1, 7, "Maya")
    assert (
        problem.message == "persona 'Maya' must be a mapping of fields, not the string 'just a support agent'"
    )
    assert "Indent its fields below the name" in (problem.hint or "")


def test_persona_name_that_is_not_text(tmp_path: Path) -> None:
    problem = only_problem(BAD / "number_name.yaml")
    assert where(problem) == (str(BAD / "number_name.yaml"), 1, 1, "123")
    assert problem.message == "persona name 123 is read as the number 123, not text"
    assert problem.hint == 'Quote it: "123":'
    path = tmp_path / "no.yaml"
    path.write_text("Yes:\n  role: Agreeable\nNo:\n  role: Contrarian\n")
    assert [(p.line, p.path, p.hint) for p in validate_file(path)] == [
        (1, "Yes", 'Quote it: "Yes":'),
        (3, "No", 'Quote it: "No":'),
    ]


# --- fields ---------------------------------------------------------------------------------------


def test_unknown_field_suggests_the_close_one() -> None:
    problem = only_problem(BAD / "unknown_field.yaml")
    assert where(problem) == (str(BAD / "unknown_field.yaml"), 3, 3, "Maya.capabilites")
    assert problem.message == "unknown field 'capabilites'; did you mean 'capabilities'?"
    assert problem.hint == "Rename 'capabilites' to 'capabilities'."


def test_unknown_field_without_a_close_one_lists_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("Maya:\n  role: Support\n  system_prompt: You are Maya\n")
    problem = only_problem(path)
    assert where(problem) == (str(path), 3, 3, "Maya.system_prompt")
    assert problem.message == "unknown field 'system_prompt'"
    assert "Remove it; a persona takes role, company, tone" in (problem.hint or "")


def test_name_inside_an_entry_is_explained() -> None:
    problem = only_problem(BAD / "name_field.yaml")
    assert where(problem) == (str(BAD / "name_field.yaml"), 2, 3, "Maya.name")
    assert "the persona's name is its key" in problem.message
    assert "Remove the `name:` line" in (problem.hint or "")


def test_wrong_types_point_at_the_value() -> None:
    file = str(BAD / "wrong_types.yaml")
    first, second = validate_file(BAD / "wrong_types.yaml")
    assert where(first) == (file, 6, 7, "Maya.capabilities[2]")
    assert first.message == "'capabilities[2]' must be a string, not the number 42"
    assert first.hint == 'Quote the value so it is read as text: "42".'
    assert where(second) == (file, 8, 50, "Maya.variables.user_name.required")
    assert (
        second.message == "'variables.user_name.required' must be true or false, not the string 'sometimes'"
    )
    assert second.hint == "Write true or false."


def test_wrong_types_in_json_have_positions() -> None:
    file = str(BAD / "wrong_types.json")
    tone, labels = validate_file(BAD / "wrong_types.json")
    assert where(tone) == (file, 1, 38, "Maya.tone")
    assert where(labels) == (file, 2, 13, "Maya.labels")
    assert labels.message == "'labels' must be a list of strings, not the string 'production'"
    assert "Write it as a list" in (labels.hint or "")


def test_missing_role_without_parent() -> None:
    problem = only_problem(BAD / "no_role.yaml")
    assert where(problem) == (str(BAD / "no_role.yaml"), 1, 1, "Maya")
    assert problem.message == "persona 'Maya' has no role"
    assert "Add `role: ...`" in (problem.hint or "")
    assert "`parent: ...`" in (problem.hint or "")


def test_bad_variable_name() -> None:
    problem = only_problem(BAD / "variable_name.yaml")
    assert where(problem) == (str(BAD / "variable_name.yaml"), 4, 5, "Maya.variables.user name")
    assert problem.message == "variable name 'user name' is not an identifier"
    assert "e.g. 'user_name'" in (problem.hint or "")


def test_replace_names_a_field_that_is_not_mergeable() -> None:
    problem = only_problem(BAD / "replace.yaml")
    assert where(problem) == (str(BAD / "replace.yaml"), 5, 27, "Premium.replace[1]")
    assert problem.message == "'parent' cannot be listed under 'replace': it is not a mergeable field"
    assert ", ".join(MERGEABLE_FIELDS) in (problem.hint or "")


def test_null_custom_section_needs_a_parent(tmp_path: Path) -> None:
    problem = only_problem(BAD / "null_section.yaml")
    assert where(problem) == (str(BAD / "null_section.yaml"), 4, 12, "Maya.custom_sections.legal")
    assert "has no parent to remove it from" in problem.message
    assert "Give the section its text, or remove the line" in (problem.hint or "")
    with_parent = tmp_path / "ok.yaml"
    with_parent.write_text("Maya:\n  role: Support\nKid:\n  parent: Maya\n  custom_sections: {legal: null}\n")
    assert validate_file(with_parent) == []


# --- inheritance and names ------------------------------------------------------------------------


def test_unknown_parent_suggests_a_defined_one() -> None:
    problem = only_problem(BAD / "unknown_parent.yaml")
    assert where(problem) == (str(BAD / "unknown_parent.yaml"), 4, 11, "MayaPremium.parent")
    assert (
        problem.message
        == "persona 'MayaPremium' inherits from 'Mya', which is not defined; did you mean 'Maya'?"
    )
    assert "Change 'parent' to 'Maya'" in (problem.hint or "")


def test_parent_in_known_is_not_unknown(tmp_path: Path) -> None:
    path = tmp_path / "kid.yaml"
    path.write_text("Kid:\n  parent: Root\n")
    assert [p.path for p in validate_file(path)] == ["Kid.parent"]
    assert validate_file(path, known=["Root"]) == []


def test_inheritance_cycles_name_the_chain() -> None:
    file = str(BAD / "cycle.yaml")
    loop, self_parent = validate_file(BAD / "cycle.yaml")
    assert where(loop) == (file, 2, 11, "A.parent")
    assert loop.message == "inheritance cycle: A -> C -> B -> A"
    assert "Remove 'parent' from one of these personas" in (loop.hint or "")
    assert where(self_parent) == (file, 8, 11, "D.parent")
    assert self_parent.message == "inheritance cycle: D -> D"


def test_duplicate_names_and_keys_in_one_yaml_file() -> None:
    file = str(BAD / "duplicate.yaml")
    name, key = validate_file(BAD / "duplicate.yaml")
    assert where(name) == (file, 5, 1, "Maya")
    assert name.message == "persona 'Maya' is defined twice in this file (first at line 1)"
    assert "Remove or rename one of them" in (name.hint or "")
    assert where(key) == (file, 8, 3, "Maya.tone")
    assert key.message == "key 'tone' is given twice in Maya (first at line 7)"


def test_duplicate_names_in_a_json_file() -> None:
    problem = only_problem(BAD / "duplicate.json")
    assert where(problem) == (str(BAD / "duplicate.json"), 3, 3, "Maya")
    assert "Remove or rename one of them" in (problem.hint or "")


def test_problems_of_a_shadowed_duplicate_are_reported_too(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("Maya:\n  rol: Support\nMaya:\n  role: Support\n")
    assert [(p.line, p.path) for p in validate_file(path)] == [(1, "Maya"), (2, "Maya.rol"), (3, "Maya")]


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("Base: &base\n  role: Support\n  tone: calm\nOther:\n  <<: *base\n  tone: warm\n")
    assert validate_file(path) == []
    top = tmp_path / "top.yaml"
    top.write_text("<<: {Maya: {role: Support}}\nAlex: {rol: Sales}\n")
    assert [(p.line, p.column, p.path) for p in validate_file(top)] == [(2, 1, "Alex"), (2, 8, "Alex.rol")]


def test_same_name_in_two_files_of_a_folder_names_both() -> None:
    problem = only_problem(FILES / "clash")
    assert where(problem) == (str(FILES / "clash" / "two.yaml"), 3, 1, "Maya")
    assert f"here and at {FILES / 'clash' / 'one.yaml'}:1:1" in problem.message
    assert "Rename one of them" in (problem.hint or "")


# --- paths ----------------------------------------------------------------------------------------


def test_unsupported_suffix_missing_path_and_empty_folder(tmp_path: Path) -> None:
    assert only_problem(BAD / "persona.txt").message == "unsupported file type '.txt'"
    assert ".yaml, .yml, .json" in (only_problem(BAD / "persona.txt").hint or "")
    assert where(only_problem(tmp_path / "nope.yaml")) == (str(tmp_path / "nope.yaml"), None, None, "")
    assert only_problem(tmp_path).message == "the folder holds no persona files"


def test_a_file_with_several_problems_reports_all_of_them() -> None:
    problems = validate_file(BAD / "several.yaml")
    assert [(p.line, p.column, p.path) for p in problems] == [
        (3, 3, "Maya.capabilites"),
        (4, 9, "Maya.tone"),
        (6, 11, "Alex.parent"),
        (7, 1, "Sam"),
    ]
    assert all(p.file == str(BAD / "several.yaml") and p.hint for p in problems)


def test_a_folder_reports_the_problems_of_every_file_in_name_order() -> None:
    problems = validate_file(BAD)
    files = [Path(p.file).name for p in problems]
    assert files == sorted(files)
    assert {"cycle.yaml", "several.yaml", "syntax.json", "wrong_types.yaml"} <= set(files)
    assert "persona.txt" not in files
    assert all(p.hint for p in problems)


# --- the schema -----------------------------------------------------------------------------------


def test_the_shipped_schema_is_valid_draft_2020_12() -> None:
    schema = persona_file_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://llm-persona.dev/schema/personas.json"


def test_the_schema_describes_every_persona_field_and_only_those() -> None:
    persona = persona_file_schema()["$defs"]["persona"]
    fields = [f.name for f in dataclasses.fields(Persona) if f.name != "name"]
    assert list(persona["properties"]) == fields
    assert persona["additionalProperties"] is False
    assert persona["properties"]["replace"]["items"]["enum"] == list(MERGEABLE_FIELDS)
    variable = persona["properties"]["variables"]["additionalProperties"]
    assert list(variable["properties"]) == ["description", "default", "required"]


def test_every_property_has_a_title_and_description() -> None:
    persona = persona_file_schema()["$defs"]["persona"]
    variable = persona["properties"]["variables"]["additionalProperties"]
    for name, sub in [*persona["properties"].items(), *variable["properties"].items()]:
        assert sub.get("title"), name
        assert sub.get("description"), name


@pytest.mark.parametrize("name", ["seed.yaml", "every_field.yaml", "forward.yaml", "good.json"])
def test_the_raw_schema_accepts_the_good_files(name: str) -> None:
    text = (FILES / name).read_text()
    data = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    assert list(Draft202012Validator(persona_file_schema()).iter_errors(data)) == []


@pytest.mark.parametrize(
    "name",
    [
        "top_list.yaml",
        "entry_string.yaml",
        "unknown_field.yaml",
        "name_field.yaml",
        "wrong_types.yaml",
        "no_role.yaml",
        "variable_name.yaml",
        "replace.yaml",
        "null_section.yaml",
    ],
)
def test_the_raw_schema_rejects_the_bad_files(name: str) -> None:
    data = yaml.safe_load((BAD / name).read_text())
    assert not Draft202012Validator(persona_file_schema()).is_valid(data)


@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/personas.yaml is not there")
def test_the_shipped_example_validates() -> None:
    assert validate_file(EXAMPLE) == []


def _variants() -> list[Any]:
    """Valid personas and many near misses, for comparing the fast check with jsonschema."""
    base = {"role": "r", "tone": "t", "capabilities": ["a"], "variables": {"v": None}}
    values: list[Any] = [None, 5, True, "", "x", [], ["a"], [5], {}, {"a": "b"}, {"a": None}, {"a": 5}]
    values += [{"user-name": None}, {"v": {"default": "d"}}, {"v": {"default": 5}}, {"v": {"x": "y"}}]
    values += [["tone"], ["name"], {"v": "text"}, {"v": {"required": "yes"}}, {1: "a"}]
    out: list[Any] = [base, "text", None, [base]]
    for field_name in [*persona_file_schema()["$defs"]["persona"]["properties"], "unknown", "name"]:
        for value in values:
            out.append({**base, field_name: value})
            out.append({k: v for k, v in {**base, field_name: value, "parent": "P"}.items() if k != "role"})
    out += [{k: v for k, v in base.items() if k != "role"}, {"parent": "P"}, {"parent": 5}]
    return out


def test_the_fast_check_agrees_with_jsonschema() -> None:
    persona = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    persona |= persona_file_schema()["$defs"]["persona"]
    reference = Draft202012Validator(persona)
    results = [(persona_check()(v), reference.is_valid(v), v) for v in _variants()]
    assert [r for r in results if r[0] != r[1]] == []
    assert {fast for fast, _, _ in results} == {True, False}  # the variants cover both outcomes


def test_the_fast_check_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="minimum"):
        compile_check({"type": "string", "minimum": 3})
    check = compile_check({"$defs": {"s": {"type": "string"}}, "items": {"$ref": "#/$defs/s"}})
    assert [check(v) for v in (["a"], [1], "x")] == [True, False, True]
