"""The seed's two code examples, as written there: define Maya in code, then load personas.yaml.

Run from anywhere: python examples/quickstart.py
"""

import os
from pathlib import Path
from types import SimpleNamespace

os.chdir(Path(__file__).parent)  # the seed opens "personas.yaml" from the working directory


def _create(*, model: str, system: str, messages: list[dict[str, str]], max_tokens: int) -> SimpleNamespace:
    """A stand-in for `anthropic.Anthropic().messages.create`, so the example runs offline."""
    reply = f"({model} would answer {messages[-1]['content']!r} as: {system.splitlines()[0]})"
    return SimpleNamespace(content=[SimpleNamespace(text=reply)])


client = SimpleNamespace(messages=SimpleNamespace(create=_create))  # or: anthropic.Anthropic()

# --- the seed's first example ---------------------------------------------------------------------
# fmt: off

from llm_persona import PersonaRegistry, Persona  # noqa: E402, I001

registry = PersonaRegistry()
registry.define(Persona(
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
))
# Build system prompt
system = registry.get("Maya").build_system_prompt()
# Or access specific fields
print(registry.get("Maya").greeting)
# "Hi, I'm Maya from Acme support."

# --- the seed's second example --------------------------------------------------------------------

from llm_persona import PersonaRegistry, Persona  # noqa: E402, I001
import yaml  # noqa: E402

# Load personas from config file
with open("personas.yaml") as f:
    personas_config = yaml.safe_load(f)

registry = PersonaRegistry()
for name, config in personas_config.items():
    registry.define(Persona(name=name, **config))

# In your request handler
def handle_request(agent_id: str, user_message: str) -> str:
    persona = registry.get(agent_id)
    response = client.messages.create(
        model="claude-sonnet-4-6",
        system=persona.build_system_prompt(),
        messages=[{"role": "user", "content": user_message}],
        max_tokens=1024,
    )
    return response.content[0].text
# fmt: on

# --- and what they print --------------------------------------------------------------------------

print(system)
print(registry.list_names())
print(handle_request("Maya", "Where is my order?"))
