"""Stateful agents on personas: one perpetual history, core memory blocks, tools, every step persisted.

Importing this package imports the store (SQLAlchemy) and the model layer; `import llm_persona`
does not.
"""

from llm_persona.agents.events import (
    MessageCommitted,
    TextDelta,
    ToolCallDelta,
    TurnEnded,
    TurnEvent,
    TurnResult,
)
from llm_persona.agents.runtime import AgentRuntime, DriftEntry, ModelResolver

__all__ = [
    "AgentRuntime",
    "DriftEntry",
    "MessageCommitted",
    "ModelResolver",
    "TextDelta",
    "ToolCallDelta",
    "TurnEnded",
    "TurnEvent",
    "TurnResult",
]
