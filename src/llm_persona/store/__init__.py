"""The store: agents, memory blocks, tools, messages, steps, passages and persona versions in SQL.

    store = Store.open()                      # $LLM_PERSONA_DB_URL or ~/.llm-persona/llm-persona.db
    agent = store.create_agent("default", AgentRecord(name="maya", model="openai/gpt-4o-mini"))
    with store.agent_lock(agent.id):
        state = store.load_agent_state("default", agent.id)
        store.commit_step("default", agent.id, expected_last_seq=state.agent.last_seq, step=..., messages=[...])

Importing this package imports SQLAlchemy; `import llm_persona` does not import it.
"""

from llm_persona.store.base import UNSET, Unset
from llm_persona.store.errors import (
    MessageNotFoundError,
    PassageNotFoundError,
    StepNotFoundError,
    UnstorableValueError,
)
from llm_persona.store.migrate import head_revision, upgrade
from llm_persona.store.records import (
    DEFAULT_BLOCK_LIMIT,
    DEFAULT_TENANT,
    AgentRecord,
    AgentState,
    BlockRecord,
    MessageRecord,
    PassageRecord,
    PersonaVersionRecord,
    StepRecord,
    ToolRecord,
    new_id,
)
from llm_persona.store.store import Store

__all__ = [
    "DEFAULT_BLOCK_LIMIT",
    "DEFAULT_TENANT",
    "UNSET",
    "AgentRecord",
    "AgentState",
    "BlockRecord",
    "MessageNotFoundError",
    "MessageRecord",
    "PassageNotFoundError",
    "PassageRecord",
    "PersonaVersionRecord",
    "StepNotFoundError",
    "StepRecord",
    "Store",
    "ToolRecord",
    "Unset",
    "UnstorableValueError",
    "head_revision",
    "new_id",
    "upgrade",
]
