"""Agent fixtures: a runtime on a real store (SQLite and PostgreSQL) with a scripted model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llm_persona import Persona, PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel
from llm_persona.store import Store
from tests.store.conftest import *  # noqa: F403  (the store fixtures, on both engines)

MAYA = Persona(
    name="Maya",
    role="Customer Support Specialist",
    company="Acme Corp",
    tone="helpful, concise, empathetic",
    capabilities=["Look up order status"],
    custom_sections={"customer": "The customer is {user_name}."},
    labels=["production"],
)


@pytest.fixture
def registry() -> PersonaRegistry:
    r = PersonaRegistry()
    r.define(MAYA)
    return r


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel([])


RuntimeFactory = Callable[..., AgentRuntime]


@pytest.fixture
def runtime(store: Store, registry: PersonaRegistry, model: ScriptedModel) -> AgentRuntime:
    return AgentRuntime(store, personas=registry, models=lambda handle: model)
