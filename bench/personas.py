"""Persona registry benchmark: load a 10,000-persona file and render each persona, against the seed.

Run from the repository root: python -m bench.personas  (--personas N for a quicker run)

Baselines, measured in the same run: `yaml.safe_load` of the file (what the seed's loading does before
its define loop), and the seed's own f-string `build_system_prompt` on the same resolved persona data
with no registry (placeholders are left in its text; the registry fills them).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench._report import Row, Table, show
from llm_persona import Persona, PersonaRegistry, validate_file

#: Share of all personas at each depth: roots, then children, grandchildren, great-grandchildren.
LEVELS = (0.10, 0.40, 0.30, 0.20)
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VARIABLES = {"user_name": "Sam", "product": "Acme Cloud", "region": "EMEA"}


@dataclass
class SeedPersona:
    """The seed's `Persona` and its `build_system_prompt`, verbatim: the rendering baseline."""

    name: str
    role: str
    company: str | None = None
    tone: str = "helpful and professional"
    capabilities: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    greeting: str | None = None
    custom_sections: dict[str, str] = field(default_factory=dict)

    def build_system_prompt(self) -> str:
        lines = [f"You are {self.name}, a {self.role}"]
        if self.company:
            lines[0] += f" at {self.company}."
        else:
            lines[0] += "."
        lines.append(f"Tone: {self.tone}")
        if self.capabilities:
            lines.append("You can:\n" + "\n".join(f"- {c}" for c in self.capabilities))
        if self.constraints:
            lines.append("Do not:\n" + "\n".join(f"- {c}" for c in self.constraints))
        for _section_name, content in self.custom_sections.items():
            lines.append(content)
        return "\n\n".join(lines)


# --- the file ---------------------------------------------------------------------------------------


def generate(count: int, seed: int = 7) -> dict[str, dict[str, Any]]:
    """`count` personas, parents before children, with inheritance up to three levels deep."""
    rng = random.Random(seed)
    personas: dict[str, dict[str, Any]] = {}
    previous: list[str] = []
    for depth, share in enumerate(LEVELS):
        level = [f"P{len(personas) + i:05d}" for i in range(round(count * share))]
        for name in level:
            personas[name] = _root(rng, name) if depth == 0 else _child(rng, rng.choice(previous), name)
        previous = level
    return personas


def _root(rng: random.Random, name: str) -> dict[str, Any]:
    n = int(name[1:])
    fields: dict[str, Any] = {
        "role": f"Support Specialist for product line {n % 97}",
        "company": f"Company {n % 13}",
        "tone": rng.choice(["helpful, concise, empathetic", "warm and direct", "formal"]),
        "capabilities": [
            f"Handle {topic} requests (tier {n % 5})" for topic in ("order", "refund", "account")
        ],
        "constraints": ["Never promise specific delivery dates", f"Never approve refunds over ${n % 9 + 1}0"],
        "greeting": f"Hi, I'm {name} from support.",
        "custom_sections": {"policy": f"Follow policy {n % 31}; quote it when asked.\nBe brief."},
        "labels": ["production"],
    }
    if rng.random() < 0.3:
        fields["custom_sections"]["escalation"] = "Escalate to a human when {user_name} asks."
        fields["variables"] = {"user_name": {"description": "the customer's first name"}}
    return fields


def _child(rng: random.Random, parent: str, name: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"parent": parent, "capabilities": [f"Handle {name} specials"]}
    roll = rng.random()
    if roll < 0.3:
        fields["tone"] = "calm and precise"
    if roll < 0.2:
        fields["custom_sections"] = {"product": "Answer about {product} in the {region} region."}
        fields["variables"] = {
            "product": {"description": "the product asked about", "default": "Acme Cloud"},
            "region": {"default": "EMEA"},
        }
    if roll > 0.9:
        fields["replace"] = ["constraints"]
        fields["constraints"] = ["Never discuss pricing"]
    return fields


# --- timing -----------------------------------------------------------------------------------------


def run_seconds(run: Callable[[], object], repeat: int) -> list[float]:
    """The wall time of each of `repeat` runs of `run`, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def per_call_us(items: list[Any], call: Callable[[Any], object], rounds: int) -> list[float]:
    """The time of `call(item)` in microseconds, for every item, `rounds` times, with GC paused."""
    for item in items[:100]:
        call(item)  # warm up
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for item in items:
                start = clock()
                call(item)
                samples.append(clock() - start)
    finally:
        gc.enable()
    return [ns / 1000 for ns in samples]


def seed_loop(text: str) -> PersonaRegistry:
    """The seed's way: yaml.safe_load, then define each persona."""
    registry = PersonaRegistry()
    for name, config in yaml.safe_load(text).items():
        registry.define(Persona(name=name, **config))
    return registry


# --- the section ------------------------------------------------------------------------------------


def run(count: int = 10_000, rounds: int = 3, repeat: int = 3) -> Table:
    """Load a `count`-persona file `repeat` times each way, render every persona `rounds` times."""
    data = generate(count)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "personas.yaml"
        text = yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
        path.write_text(text, encoding="utf-8")
        load_rows = [
            Row.of("yaml.safe_load", run_seconds(lambda: yaml.safe_load(text), repeat), "s", baseline=True),
            Row.of(
                "yaml.load, C loader", run_seconds(lambda: yaml.load(text, Loader=FAST_LOADER), repeat), "s"
            ),
            Row.of("seed loop: safe_load + define", run_seconds(lambda: seed_loop(text), repeat), "s"),
            Row.of("validate_file", run_seconds(lambda: validate_file(path), repeat), "s"),
            Row.of(
                "from_file: load+validate+define",
                run_seconds(lambda: PersonaRegistry.from_file(path), repeat),
                "s",
            ),
        ]
        registry = PersonaRegistry.from_file(path)

    names = registry.list_names()
    resolved = [registry.get(name) for name in names]
    seeds = [
        SeedPersona(
            p.name,
            p.role or "",
            p.company,
            p.tone,
            p.capabilities,
            p.constraints,
            p.greeting,
            p.custom_sections,
        )
        for p in resolved
    ]
    render_rows = [
        Row.of(
            "seed f-string render",
            per_call_us(seeds, SeedPersona.build_system_prompt, rounds),
            "µs",
            baseline=True,
        ),
        Row.of("get()", per_call_us(names, registry.get, rounds), "µs"),
        Row.of(
            "build_system_prompt()",
            per_call_us(resolved, lambda p: p.build_system_prompt(**VARIABLES), rounds),
            "µs",
        ),
        Row.of(
            "get() + build_system_prompt()",
            per_call_us(names, lambda n: registry.get(n).build_system_prompt(**VARIABLES), rounds),
            "µs",
        ),
    ]

    depth = dict.fromkeys(names, 0)
    for name in names:  # parents come first in the file
        parent = data[name].get("parent")
        depth[name] = depth[parent] + 1 if parent else 0
    with_vars = sum(1 for p in resolved if p.variables)
    table = Table(
        f"persona: load + render {len(names):,} personas with inheritance "
        f"({sum(d == 0 for d in depth.values()):,} roots, up to {max(depth.values())} levels deep, "
        f"{len(text.encode()) / 1e6:.1f} MB of YAML)"
    )
    table.block(f"whole file, {repeat} run(s) each").rows.extend(load_rows)
    table.block(f"per persona, {len(names):,} personas x {rounds}").rows.extend(render_rows)
    table.notes.append(
        f"{with_vars:,} personas have variables of their own or inherited. Baselines: yaml.safe_load of "
        "the file (what the seed does before its define loop); the seed's f-string build_system_prompt."
    )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.personas", description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=10_000, help="how many personas (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="render passes over every persona")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-file step")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}\n")
    show(run(args.personas, args.rounds, args.repeat))


if __name__ == "__main__":
    main()
