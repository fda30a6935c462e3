"""An agent's model settings through the official SDK in strict mode, on both engines: `timeout` and
`max_retries` (ours; Letta's `llm_config` has neither, so the SDK keeps them as extra keys) are
stored, returned and used by the agent's model calls, and bad values are a 422 that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from letta_client import Letta, UnprocessableEntityError

from llm_persona.llm.types import ModelSettings
from tests.server.conftest import Running

LLM_CONFIG: dict[str, Any] = {"model": "gpt-4o-mini", "model_endpoint_type": "openai", "context_window": 8000}


def make_agent(client: Letta, **llm_config: Any) -> Any:
    return client.agents.create(
        name="maya-1",
        model="openai/gpt-4o-mini",
        llm_config={**LLM_CONFIG, **llm_config},  # type: ignore[arg-type]
        extra_body={"persona": "Maya"},
    )


def extra(agent: Any) -> tuple[Any, Any]:
    """The agent's (timeout, max_retries), as the SDK keeps them (extra keys of `llm_config`)."""
    keys = agent.llm_config.model_extra or {}
    return keys["timeout"], keys["max_retries"]


def settings_of_a_turn(client: Letta, running: Running, agent_id: str) -> tuple[float, int]:
    """The (timeout, max_retries) the agent's next model call gets."""
    running.model.add("Hi.")
    client.agents.messages.create(agent_id, input="hello")
    settings = running.model.requests[-1].settings
    return settings.timeout, settings.max_retries


def test_timeout_and_max_retries_are_kept_returned_and_used(client: Letta, running: Running) -> None:
    agent = make_agent(client, timeout=12.5, max_retries=4, temperature=0.2)
    assert extra(agent) == (12.5, 4)
    assert agent.llm_config.temperature == 0.2
    assert extra(client.agents.retrieve(agent.id)) == (12.5, 4)
    assert [extra(a) for a in client.agents.list()] == [(12.5, 4)]
    assert settings_of_a_turn(client, running, agent.id) == (12.5, 4)

    # model_settings carries them too; what is not sent stays as it was
    changed = client.agents.update(
        agent.id,
        model_settings={"provider_type": "openai", "max_retries": 0},  # type: ignore[arg-type]
    )
    assert extra(changed) == (12.5, 0)
    assert changed.llm_config.temperature == 0.2
    changed = client.agents.update(agent.id, llm_config={**LLM_CONFIG, "timeout": "90"})  # type: ignore[arg-type]
    assert extra(changed) == (90.0, 0)  # a number sent as text is kept as a number
    assert settings_of_a_turn(client, running, agent.id) == (90.0, 0)
    assert running.store.get_agent("default", agent.id).llm_config["timeout"] == 90.0


def test_an_agent_that_sets_neither_shows_the_defaults_it_runs_with(client: Letta, running: Running) -> None:
    agent = make_agent(client)
    defaults = ModelSettings()
    assert extra(agent) == (defaults.timeout, defaults.max_retries)
    assert settings_of_a_turn(client, running, agent.id) == (defaults.timeout, defaults.max_retries)
    assert "timeout" not in running.store.get_agent("default", agent.id).llm_config  # not pinned


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"timeout": -1}, "timeout: Input should be greater than 0. Seconds each network step"),
        ({"timeout": 0}, "timeout: Input should be greater than 0"),
        ({"timeout": 10**9}, "timeout: Input should be less than or equal to 3600"),
        ({"timeout": "soon"}, "timeout: Input should be a valid number"),
        ({"max_retries": -1}, "max_retries: Input should be greater than or equal to 0. How often"),
        ({"max_retries": 1000}, "max_retries: Input should be less than or equal to 10"),
        ({"max_retries": 2.5}, "max_retries: Input should be a valid integer"),
    ],
)
def test_a_bad_timeout_or_max_retries_is_a_422_naming_it_and_changes_nothing(
    client: Letta, running: Running, settings: dict[str, Any], says: str
) -> None:
    with pytest.raises(UnprocessableEntityError) as created:
        make_agent(client, **settings)
    assert f"llm_config: Value error, {says}" in str(created.value.body)
    assert running.store.count_agents("default") == 0

    agent = make_agent(client, timeout=5, max_retries=1)
    for body in ({"llm_config": {**LLM_CONFIG, **settings}}, {"model_settings": settings}):
        with pytest.raises(UnprocessableEntityError) as updated:
            client.agents.update(agent.id, extra_body=body)
        assert says in str(updated.value.body)
    assert extra(client.agents.retrieve(agent.id)) == (5.0, 1)
