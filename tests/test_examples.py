"""The shipped examples run, and examples/personas.yaml is a valid file that renders as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from llm_persona import Persona, PersonaRegistry, validate_file
from tests.personas.test_seed import SEED_PROMPT

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PERSONAS = EXAMPLES / "personas.yaml"

#: The seed's Maya, field for field.
SEED_MAYA = {
    "role": "Customer Support Specialist",
    "company": "Acme Corp",
    "tone": "helpful, concise, empathetic",
    "capabilities": ["Look up order status", "Process refunds under $50", "Escalate complex issues"],
    "constraints": [
        "Never promise specific delivery dates",
        "Never approve refunds over $50 without approval",
    ],
    "greeting": "Hi, I'm Maya from Acme support.",
}


def test_quickstart_runs_from_any_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, EXAMPLES / "quickstart.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Hi, I'm Maya from Acme support."
    assert "\n".join(lines[1:13]) == SEED_PROMPT
    assert lines[13] == "['Maya', 'MayaPremium', 'MayaVIP', 'Alex', 'Sam']"
    assert lines[14].startswith("(claude-sonnet-4-6 would answer 'Where is my order?' as: You are Maya,")


def test_example_file_is_valid_and_maya_is_the_seeds() -> None:
    assert validate_file(PERSONAS) == []
    assert yaml.safe_load(PERSONAS.read_text(encoding="utf-8"))["Maya"] == SEED_MAYA
    registry = PersonaRegistry.from_file(PERSONAS)
    assert registry.get("Maya").build_system_prompt() == SEED_PROMPT


def test_example_file_shows_each_feature() -> None:
    registry = PersonaRegistry.from_file(PERSONAS)
    assert registry.definition("MayaVIP").parent == "MayaPremium"
    assert registry.definition("MayaPremium").parent == "Maya"
    assert registry.definition("MayaPremium").replace == ["constraints"]
    assert registry.labels("MayaPremium") == {"production": 1}
    vip = registry.get("MayaVIP").build_system_prompt(user_name="Sam")
    assert "- Process refunds under $500\n- Upgrade shipping to express at no cost" in vip
    assert "over $50 without" not in vip
    assert vip.endswith("Escalate Sam to the VIP desk at once when they ask.")
    alex = registry.get("Alex").build_system_prompt()
    assert alex.endswith(
        '{"answer": "Use the export button.", "sources": ["https://docs.acme.example/Acme Cloud/export"]}'
    )
    sam = registry.get("Sam")
    assert sam.variables["region"].default == "EMEA"
    assert sam.variables["max_discount"].is_required
    assert "You cover the APAC region" in sam.build_system_prompt(region="APAC", max_discount="10%")


def test_the_seeds_loop_loads_the_example_file() -> None:
    registry = PersonaRegistry()
    for name, config in yaml.safe_load(PERSONAS.read_text(encoding="utf-8")).items():
        registry.define(Persona(name=name, **config))
    assert registry.list_names() == PersonaRegistry.from_file(PERSONAS).list_names()
    assert registry.get("MayaVIP") == PersonaRegistry.from_file(PERSONAS).get("MayaVIP")
