"""What a turn yields as it runs: token deltas while the model speaks, each message once its step is
committed, then the stop reason and the usage. Streaming is iterating these; a JSON answer collects them."""

from __future__ import annotations

from dataclasses import dataclass, field

from llm_persona.llm.types import Usage
from llm_persona.store.records import MessageRecord

#: Why a turn ended, in Letta's words.
END_TURN = "end_turn"
MAX_STEPS = "max_steps"
LLM_API_ERROR = "llm_api_error"
INVALID_LLM_RESPONSE = "invalid_llm_response"
ERROR = "error"


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's reply, streamed before its step is committed."""

    message_id: str
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call the model is making (arguments arrive in pieces)."""

    message_id: str
    tool_call_id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class MessageCommitted:
    """A message that is now durable in the agent's history."""

    message: MessageRecord


@dataclass(frozen=True)
class TurnEnded:
    stop_reason: str
    usage: Usage
    step_count: int
    error: str | None = None


TurnEvent = TextDelta | ToolCallDelta | MessageCommitted | TurnEnded


@dataclass
class TurnResult:
    """A finished turn: the messages it added, why it stopped, and what it used."""

    messages: list[MessageRecord] = field(default_factory=list)
    stop_reason: str = END_TURN
    usage: Usage = field(default_factory=Usage)
    step_count: int = 0
    error: str | None = None
