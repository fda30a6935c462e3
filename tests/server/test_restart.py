"""A server restart loses nothing: agents, memory and history are all in the database."""

from __future__ import annotations

from letta_client import Letta

from llm_persona import PersonaRegistry
from llm_persona.agents import AgentRuntime
from llm_persona.llm.scripted import ScriptedModel, tool_call
from llm_persona.store import Store
from tests.server.conftest import start_server


def sdk(url: str) -> Letta:
    return Letta(base_url=url, api_key="unused", _strict_response_validation=True, max_retries=0)


def test_restart_keeps_agents_memory_and_history(store_url: str, registry: PersonaRegistry) -> None:
    model = ScriptedModel(
        [[tool_call("memory_insert", label="human", new_str="Likes tea")], "Noted.", "Hi again."]
    )
    with Store.open(store_url) as store:
        first = start_server(AgentRuntime(store, personas=registry, models=lambda h: model), model, store)
        with sdk(first.url) as client:
            agent = client.agents.create(
                name="durable",
                model="scripted/test",
                memory_blocks=[{"label": "human", "value": "Name: Sam"}],
                extra_body={"persona": "Maya", "persona_vars": {"user_name": "Sam"}},
            )
            client.agents.messages.create(agent.id, messages=[{"role": "user", "content": "I like tea"}])
        first.stop()

    with Store.open(store_url) as store:  # a new process, as far as the server can tell
        second = start_server(AgentRuntime(store, models=lambda h: model), model, store)
        try:
            with sdk(second.url) as client:
                again = client.agents.retrieve(agent.id)
                assert again.name == "durable"
                human = client.agents.blocks.retrieve("human", agent_id=agent.id)
                assert human.value == "Name: Sam\nLikes tea"
                kinds = [m.message_type for m in client.agents.messages.list(agent.id, order="asc")]
                assert kinds == [
                    "user_message",
                    "tool_call_message",
                    "tool_return_message",
                    "assistant_message",
                ]
                reply = client.agents.messages.create(
                    agent.id, messages=[{"role": "user", "content": "hello"}]
                )
                assert reply.stop_reason.stop_reason == "end_turn"
            seen = [(m.role, m.content) for m in model.requests[-1].messages[1:]]
            assert seen[0] == ("user", "I like tea")
            assert seen[-1] == ("user", "hello")
            assert "Likes tea" in (model.requests[-1].messages[0].content or "")
            assert "The customer is Sam." in (model.requests[-1].messages[0].content or "")
        finally:
            second.stop()
