"""Reading persona files (placeholder: the validating loader replaces this)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from llm_persona.personas.persona import Persona


def load_definitions(path: Path, known: set[str]) -> list[Persona]:
    files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml", ".json"}) if path.is_dir() else [path]
    out: list[Persona] = []
    for f in files:
        text = f.read_text()
        data = json.loads(text) if f.suffix == ".json" else yaml.safe_load(text)
        out += [Persona(name=name, **config) for name, config in data.items()]
    return out
