"""Small builders shared by the store tests."""

from __future__ import annotations

from typing import Any

from llm_persona.store import AgentRecord, MessageRecord, StepRecord, Store
from llm_persona.store.records import Role

TENANT = "default"
OTHER = "acme"


def new_agent(store: Store, tenant: str = TENANT, **fields: Any) -> AgentRecord:
    fields.setdefault("name", "maya")
    fields.setdefault("model", "openai/gpt-4o-mini")
    return store.create_agent(tenant, AgentRecord(**fields))


def say(
    store: Store, agent_id: str, *texts: str, tenant: str = TENANT, role: Role = "user"
) -> list[MessageRecord]:
    """Commit one step carrying a message per text."""
    last = store.get_agent(tenant, agent_id).last_seq
    return store.commit_step(
        tenant,
        agent_id,
        expected_last_seq=last,
        step=StepRecord(model="openai/gpt-4o-mini"),
        messages=[MessageRecord(role=role, content=t) for t in texts],
    )
