"""A whole agent turn through the real OpenAI SDK, over a socket, against the project's fake server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from llm_persona import PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm import RetryPolicy, get_model
from llm_persona.llm.scripted import tool_call
from llm_persona.store import Store
from llm_persona.testing import FakeOpenAIServer
from llm_persona.testing.replies import Garbage, server_error


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


async def test_default_resolver_reads_openai_env_and_runs_tools(
    store: Store, registry: PersonaRegistry, fake: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    runtime = AgentRuntime(store, personas=registry)  # the production resolver
    agent = await runtime.create_agent(
        name="o",
        persona="Maya",
        persona_vars={"user_name": "Bob"},
        model="openai/fake-model",
        memory_blocks=[{"label": "human", "value": "Name: Bob"}],
    )
    fake.add([tool_call("memory_insert", label="human", new_str="Plan: pro")], "Got it.")
    result = await runtime.send(agent.id, "I am on the pro plan")
    assert result.stop_reason == "end_turn"
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert store.agent_block("default", agent.id, "human").value == "Name: Bob\nPlan: pro"
    first, second = fake.requests[-2].body, fake.requests[-1].body
    assert first["model"] == "fake-model"
    assert {t["function"]["name"] for t in first["tools"]} == {
        "memory_insert",
        "memory_replace",
        "conversation_search",
        "archival_memory_insert",
        "archival_memory_search",
    }
    assert first["messages"][0]["role"] == "system"
    assert second["messages"][2]["tool_calls"][0]["function"]["name"] == "memory_insert"
    assert json.loads(second["messages"][3]["content"])["status"] == "OK"
    assert result.usage.input_tokens > 0
    await runtime.aclose()  # closes the provider's connections


async def test_provider_failures_are_retried_then_reported(
    store: Store, registry: PersonaRegistry, fake: FakeOpenAIServer
) -> None:
    fast = RetryPolicy(base_delay=0.001, max_delay=0.01)
    models = {
        "openai/fake-model": get_model("openai/fake-model", base_url=fake.base_url, api_key="sk", retry=fast)
    }
    runtime = AgentRuntime(store, personas=registry, models=models.__getitem__)
    agent = await runtime.create_agent(
        name="r", persona="Maya", persona_vars={"user_name": "B"}, model="openai/fake-model"
    )

    fake.add(server_error(503), "Recovered.")
    ok = await runtime.send(agent.id, "hi")
    assert (ok.stop_reason, ok.messages[-1].content) == ("end_turn", "Recovered.")

    fake.add(*[server_error(500)] * 3)
    failed = await runtime.send(agent.id, "again")
    assert failed.stop_reason == "llm_api_error"
    assert "500" in (failed.error or "")

    fake.add(Garbage())
    garbage = await runtime.send(agent.id, "third")
    assert garbage.stop_reason == "invalid_llm_response"

    fake.add("Still here.")
    assert (await runtime.send(agent.id, "fourth")).messages[-1].content == "Still here."
    await models["openai/fake-model"].aclose()
