"""What the fake OpenAI server answers in the fault tests, unless a test scripts something else."""

from __future__ import annotations

import random
from typing import Any

from llm_persona.llm.scripted import tool_call
from llm_persona.testing import ReplyLike, delayed
from llm_persona.testing.replies import last_user_text


def expected_reply(text: str) -> str:
    """The agent's final answer to the user message `text`."""
    return f"echo {text}"


SUMMARY = "The user sent numbered messages; each was logged and echoed."


class ToolThenText:
    """Each user message gets a `memory_insert` call appending "saw <text>" to the block `log`; the
    tool's result gets the text "echo <text>"; a request without tools (a summary of older messages)
    gets `SUMMARY`. Each answer waits a random time from `delay`, so a kill -9 lands in a model call,
    between steps or mid-stream."""

    def __init__(self, rng: random.Random, delay: tuple[float, float] = (0.0, 0.0)) -> None:
        self.rng = rng
        self.delay = delay
        self.calls = 0  # model requests answered so far (read by tests to time a kill)

    def __call__(self, body: dict[str, Any]) -> ReplyLike:
        self.calls += 1
        messages = body.get("messages") or []
        text = last_user_text(messages)
        reply: ReplyLike
        if not body.get("tools"):
            reply = SUMMARY
        elif messages and messages[-1].get("role") == "user":
            reply = [tool_call("memory_insert", label="log", new_str=f"saw {text}")]
        else:
            reply = expected_reply(text)
        low, high = self.delay
        return delayed(self.rng.uniform(low, high), reply) if high > 0 else reply
