"""The seed's code examples, exactly as written there, and its prompt format byte for byte."""

from dataclasses import dataclass, field

import yaml

from llm_persona import Persona, PersonaRegistry

SEED_PROMPT = """\
You are Maya, a Customer Support Specialist at Acme Corp.

Tone: helpful, concise, empathetic

You can:
- Look up order status
- Process refunds under $50
- Escalate complex issues

Do not:
- Never promise specific delivery dates
- Never approve refunds over $50 without approval"""


def define_seed_maya(registry: PersonaRegistry) -> None:
    registry.define(
        Persona(
            name="Maya",
            role="Customer Support Specialist",
            company="Acme Corp",
            tone="helpful, concise, empathetic",
            capabilities=[
                "Look up order status",
                "Process refunds under $50",
                "Escalate complex issues",
            ],
            constraints=[
                "Never promise specific delivery dates",
                "Never approve refunds over $50 without approval",
            ],
            greeting="Hi, I'm Maya from Acme support.",
        )
    )


def test_seed_example_renders_the_seed_format() -> None:
    registry = PersonaRegistry()
    define_seed_maya(registry)
    system = registry.get("Maya").build_system_prompt()
    assert system == SEED_PROMPT
    assert registry.get("Maya").greeting == "Hi, I'm Maya from Acme support."
    assert registry.list_names() == ["Maya"]


@dataclass
class _SeedPersona:
    """The seed's own implementation, verbatim, as the reference for golden comparisons."""

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


SEED_SHAPED = [
    {"name": "A", "role": "Helper"},
    {"name": "B", "role": "Agent", "company": "Initech", "tone": "dry"},
    {
        "name": "C",
        "role": "R",
        "capabilities": ["x"],
        "custom_sections": {"s": "Line one\nline two", "t": "T"},
    },
    {"name": "D", "role": "R", "constraints": ["no"], "company": ""},
    {"name": "E", "role": "R", "custom_sections": {"json": 'Reply as {"ok": true}'}, "greeting": "hey"},
]


def test_seed_fields_render_byte_for_byte_like_the_seed_implementation() -> None:
    for fields in SEED_SHAPED:
        assert Persona(**fields).build_system_prompt() == _SeedPersona(**fields).build_system_prompt()


def test_seed_defaults() -> None:
    p = Persona("Sam", "Sales Rep")
    assert (p.company, p.tone, p.capabilities, p.constraints, p.greeting, p.custom_sections) == (
        None,
        "helpful and professional",
        [],
        [],
        None,
        {},
    )


def test_seed_yaml_loop_works_for_every_field(tmp_path) -> None:
    path = tmp_path / "personas.yaml"
    path.write_text(
        """
Maya:
  role: Customer Support Specialist
  company: Acme Corp
  tone: helpful, concise, empathetic
  capabilities: [Look up order status, Process refunds under $50]
  constraints: [Never promise specific delivery dates]
  greeting: "Hi, I'm Maya from Acme support."
  custom_sections: {escalation: "Escalate to a human when {user_name} asks."}
  variables: {user_name: {description: the customer's first name}}
  labels: [production]
  description: Front-line support
MayaPremium:
  parent: Maya
  capabilities: [Process refunds under $500]
  replace: [constraints]
  constraints: [Never share internal notes]
"""
    )
    with open(path) as f:
        personas_config = yaml.safe_load(f)
    registry = PersonaRegistry()
    for name, config in personas_config.items():
        registry.define(Persona(name=name, **config))
    premium = registry.get("MayaPremium").build_system_prompt(user_name="Jo")
    assert "Process refunds under $500" in premium
    assert "Never share internal notes" in premium
    assert "Never promise specific delivery dates" not in premium
    assert registry.labels("Maya") == {"production": 1}
