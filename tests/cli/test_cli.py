"""The `llm-persona` command line: each command's output and exit status, and its error messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from llm_persona import PersonaRegistry
from llm_persona.cli import app
from llm_persona.personas.schema import persona_file_schema
from tests.personas.test_seed import SEED_PROMPT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "personas.yaml"


def run(*args: str | Path) -> Result:
    # wide, so that usage errors in a box are not wrapped mid-message
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_clean_failure(result: Result, code: int = 1) -> None:
    """Failed with `code`, said why on stderr, printed nothing on stdout and no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.output


# --- build ------------------------------------------------------------------------------------------


def test_build_prints_the_prompt_and_nothing_else() -> None:
    result = run("build", "Maya", "-f", EXAMPLES)
    assert result.exit_code == 0
    assert result.stdout == SEED_PROMPT + "\n"
    assert result.stderr == ""


def test_build_fills_vars_and_follows_labels_and_versions() -> None:
    result = run("build", "MayaPremium", "-f", EXAMPLES, "--var", "user_name=Sam", "--label", "production")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Escalate to a human when Sam asks, or after two failed attempts.\n")
    assert "- Process refunds under $500" in result.stdout
    pinned = run("build", "Maya", "-f", EXAMPLES, "--version", "1")
    assert pinned.stdout == SEED_PROMPT + "\n"


def test_build_with_a_value_containing_equals_and_braces() -> None:
    result = run("build", "MayaPremium", "-f", EXAMPLES, "--var", "user_name=a=b {c}")
    assert result.exit_code == 0
    assert "when a=b {c} asks" in result.stdout


def test_missing_vars_are_all_named_with_the_flags_to_pass(tmp_path: Path) -> None:
    f = write(
        tmp_path / "p.yaml",
        "Quinn:\n  role: Guide\n  custom_sections:\n    ctx: 'Help {user_name} with {topic}.'\n",
    )
    result = run("build", "Quinn", "-f", f)
    assert_clean_failure(result)
    assert "Missing variables {topic, user_name} for persona 'Quinn'" in result.stderr
    assert "--var topic=... --var user_name=..." in result.stderr
    assert run("build", "Quinn", "-f", f, "--var", "user_name=Sam").stderr.count("topic") == 2


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ("user_name", "is not NAME=VALUE"),
        ("=Sam", "is not a variable name"),
        ("user-name=Sam", "not a variable"),
    ],
)
def test_bad_var_syntax_is_a_usage_error(var: str, message: str) -> None:
    result = run("build", "Maya", "-f", EXAMPLES, "--var", var)
    assert result.exit_code == 2
    assert "--var" in result.stderr
    assert message in result.stderr


def test_unknown_persona_suggests_close_names() -> None:
    result = run("build", "Mya", "-f", EXAMPLES)
    assert_clean_failure(result)
    assert "No persona named 'Mya' in " in result.stderr
    assert "Did you mean 'Maya'" in result.stderr


def test_unknown_version_or_label_and_both_at_once() -> None:
    assert "has no version 7" in run("build", "Maya", "-f", EXAMPLES, "--version", "7").stderr
    result = run("build", "Maya", "-f", EXAMPLES, "--label", "canary")
    assert_clean_failure(result)
    assert "has no label 'canary'" in result.stderr
    both = run("build", "Maya", "-f", EXAMPLES, "--version", "1", "--label", "production")
    assert both.exit_code == 2
    assert "not both" in both.stderr


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("build", "Maya", "-f", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_folder_of_files_with_a_parent_in_another_file(tmp_path: Path) -> None:
    write(tmp_path / "a_base.yaml", "Base:\n  role: Guide\n  capabilities: [Answer questions]\n")
    write(tmp_path / "b_child.json", json.dumps({"Child": {"parent": "Base", "capabilities": ["Draw maps"]}}))
    result = run("build", "Child", "-f", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "You are Child, a Guide.\n\nTone: helpful and professional\n\n"
        "You can:\n- Answer questions\n- Draw maps\n"
    )
    assert run("validate", tmp_path).exit_code == 0


# --- bad files --------------------------------------------------------------------------------------

BAD = """\
Maya:
  role: Support
  capabilites: [Refunds]
Bob:
  parent: Nobody
"""


def test_validate_reports_every_problem_with_its_location(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", BAD)
    result = run("validate", bad)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) >= 2, result.output
    assert all(re.match(rf"{re.escape(str(bad))}:\d+:\d+: ", line) for line in lines), lines
    assert any(line.startswith(f"{bad}:3:3: ") and "'capabilities'" in line for line in lines), lines
    assert any("Nobody" in line for line in lines), lines
    assert "problems in 1 file" in result.stderr


def test_validate_passes_good_files_with_one_green_line(tmp_path: Path) -> None:
    result = run("validate", EXAMPLES)
    assert result.exit_code == 0
    assert result.stdout == f"OK: 5 personas in {EXAMPLES}, no problems.\n"
    base = write(tmp_path / "base.yaml", "Base:\n  role: Guide\n")
    child = write(tmp_path / "child.yaml", "Child:\n  parent: Base\n")
    result = run("validate", base, child)
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK: 2 personas in 2 files, no problems.\n"


def test_commands_on_a_bad_file_fail_with_locations_not_tracebacks(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", BAD)
    for command in (["build", "Maya"], ["list"], ["explain", "Maya"]):
        result = run(*command, "-f", bad)
        assert_clean_failure(result)
        assert result.stderr.startswith("Error: ")
        assert re.search(rf"{re.escape(str(bad))}:3:\d+: ", result.stderr), result.stderr


def test_yaml_syntax_error_has_a_location(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yaml", "Maya:\n  role: [Support\n")
    result = run("validate", broken)
    assert result.exit_code == 1
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: ", result.stdout), result.output
    assert_clean_failure(run("build", "Maya", "-f", broken))


# --- list, explain, schema --------------------------------------------------------------------------


def test_list_shows_names_parents_versions_labels_and_fingerprints() -> None:
    result = run("list", "-f", EXAMPLES)
    assert result.exit_code == 0
    registry = PersonaRegistry.from_file(EXAMPLES)
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert list(rows) == registry.list_names()
    assert re.search(r"MayaPremium\s+│\s+Maya\s+│\s+v1\s+│\s+production\s+│", rows["MayaPremium"])
    for name in registry.list_names():
        assert registry.lookup(name).short_fingerprint in rows[name]


def test_list_of_an_empty_file(tmp_path: Path) -> None:
    result = run("list", "-f", write(tmp_path / "empty.json", "{}"))
    assert result.exit_code == 0
    assert "No personas in" in result.stderr


def test_explain_names_the_layer_of_each_line() -> None:
    result = run("explain", "MayaVIP", "-f", EXAMPLES)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert re.match(r"Maya:capabilities\[0\]\s+\| - Look up order status$", lines[3])
    assert "MayaPremium:capabilities[3]" in lines[6]
    assert lines[-1].endswith("| Escalate {user_name} to the VIP desk at once when they ask.")
    filled = run("explain", "MayaVIP", "-f", EXAMPLES, "--var", "user_name=Sam").stdout
    assert filled.splitlines()[-1].endswith("| Escalate Sam to the VIP desk at once when they ask.")


def test_schema_prints_the_shipped_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == persona_file_schema()


# --- diff -------------------------------------------------------------------------------------------


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLES.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path / "edited.yaml", text.replace(old, new))


def test_diff_against_an_edited_file_shows_fields_and_prompt(tmp_path: Path) -> None:
    new = edited(tmp_path, "Process refunds under $50\n", "Process refunds under $75\n")
    result = run("diff", "MayaPremium", "-f", EXAMPLES, "--against", new)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "MayaPremium: v1 -> v2"
    assert lines[1].startswith("  capabilities: [")
    assert "--- MayaPremium v1" in lines
    assert "+++ MayaPremium v2" in lines
    assert "-- Process refunds under $50" in lines
    assert "+- Process refunds under $75" in lines


def test_diff_between_labels_after_loading_both_files(tmp_path: Path) -> None:
    new = edited(tmp_path, "tone: warm, concise, proactive\n", "tone: calm\n")
    new = write(new, new.read_text(encoding="utf-8").replace("labels: [staging]\n", "labels: [canary]\n", 1))
    result = run("diff", "MayaVIP", "staging", "canary", "-f", EXAMPLES, "--against", new)
    assert result.exit_code == 0, result.output
    assert "  tone: 'warm, concise, proactive' -> 'calm'" in result.stdout
    same = run("diff", "MayaVIP", "v1", "1", "-f", EXAMPLES)
    assert same.stdout == "MayaVIP v1 and v1 have the same content.\n"


def test_diff_of_an_unchanged_persona(tmp_path: Path) -> None:
    new = edited(tmp_path, "tone: precise and friendly", "tone: terse")
    result = run("diff", "Maya", "-f", EXAMPLES, "--against", new)
    assert result.exit_code == 0
    assert result.stdout.startswith("No change: Maya is the same in ")


def test_diff_needs_two_versions_or_against() -> None:
    for args in (["diff", "Maya"], ["diff", "Maya", "1"]):
        result = run(*args, "-f", EXAMPLES)
        assert result.exit_code == 2
        assert "--against" in result.stderr
    assert_clean_failure(run("diff", "Maya", "1", "2", "-f", EXAMPLES))


# --- the app ----------------------------------------------------------------------------------------


def test_version_and_help() -> None:
    assert run("--version").stdout == "llm-persona 0.1.0\n"
    result = run("--help")
    assert result.exit_code == 0
    for command in ("validate", "build", "list", "diff", "explain", "schema"):
        assert command in result.stdout


def test_installed_console_script_pipes_the_prompt() -> None:
    script = Path(sys.executable).with_name("llm-persona")
    if not script.exists():
        pytest.skip("the llm-persona console script is not installed next to this Python")
    done = subprocess.run(
        [script, "build", "Maya", "-f", EXAMPLES], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, SEED_PROMPT + "\n", "")
    missing = subprocess.run(
        [script, "build", "Sam", "-f", EXAMPLES], capture_output=True, text=True, check=False, timeout=60
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: Missing variables {max_discount}")
    assert "Traceback" not in missing.stderr
