"""The context window: how full it is, and where the oldest messages can be folded into a summary
without separating a tool call from its result."""

from __future__ import annotations

from collections.abc import Iterable

from llm_persona.llm.types import ChatMessage, ToolCall
from llm_persona.store.records import MessageRecord

DEFAULT_CONTEXT_WINDOW = 32_000  # tokens, unless llm_config["context_window"] says otherwise
SUMMARISE_AT = 0.8  # share of the window that triggers a summary
KEEP_AFTER_SUMMARY = 0.4  # share of the window the kept (newest) messages may fill

SUMMARY_INSTRUCTIONS = """\
You summarise a conversation between an assistant and a user so the assistant can continue it. \
Write a short, factual summary in the third person: who the user is, what they asked, what was \
decided or done, and anything still open. Include an earlier summary if the transcript starts \
with one. No preamble."""


def estimate_tokens(text: str) -> int:
    """A provider-neutral estimate: about four characters a token."""
    return len(text) // 4 + 1


def message_tokens(m: MessageRecord) -> int:
    calls = sum(len(c.get("arguments", "")) + len(c.get("name", "")) for c in m.tool_calls)
    return estimate_tokens(m.content or "") + calls // 4 + 4


def split_point(messages: list[MessageRecord], budget: int) -> int | None:
    """Index of the first message to keep: the newest messages that fit `budget` tokens, starting
    at a user message (so every tool call stays with its result). None when nothing can go."""
    used = 0
    candidate: int | None = None
    for i in range(len(messages) - 1, 0, -1):
        used += message_tokens(messages[i])
        if used > budget:
            break
        if messages[i].role == "user":
            candidate = i
    if candidate is None:  # even the newest exchange is over budget: keep from its user message
        candidate = next((i for i in range(len(messages) - 1, 0, -1) if messages[i].role == "user"), None)
    return candidate


def transcript(messages: list[MessageRecord]) -> str:
    """The messages as plain text for the summariser."""
    lines = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            calls = ", ".join(f"{c['name']}({c['arguments']})" for c in m.tool_calls)
            lines.append(f"assistant: {m.content or ''} [called {calls}]".replace(":  [", ": ["))
        elif m.role == "tool":
            lines.append(f"tool {m.tool_name}: {m.content}")
        else:
            lines.append(f"{m.role}: {m.content}")
    return "\n".join(lines)


class InContext:
    """An agent's in-context messages, kept with their chat form and size as they grow, so a step
    costs the same whatever the history's length."""

    def __init__(self, records: Iterable[MessageRecord] = ()) -> None:
        self.records: list[MessageRecord] = []
        self.tokens = 0
        self._chat: list[ChatMessage] = []
        self._summary: ChatMessage | None = None
        self.extend(records)

    def extend(self, records: Iterable[MessageRecord]) -> None:
        for m in records:
            self.records.append(m)
            self.tokens += message_tokens(m)
            chat = to_chat(m)
            if m.role == "summary":
                self._summary = chat  # only the newest summary is shown, first
            elif chat is not None:
                self._chat.append(chat)

    def chat(self) -> list[ChatMessage]:
        """The messages as the model sees them: the newest summary (if any) first."""
        return [self._summary, *self._chat] if self._summary is not None else list(self._chat)


def to_chat(m: MessageRecord) -> ChatMessage | None:
    """A stored message as the model sees it (system rows are replaced by the compiled prompt)."""
    if m.role == "user":
        return ChatMessage.user(m.content or "")
    if m.role == "assistant":
        calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in m.tool_calls]
        return ChatMessage.assistant(m.content, calls)
    if m.role == "tool":
        return ChatMessage.tool(m.tool_call_id or "", m.content or "", m.tool_name)
    if m.role == "summary":
        return ChatMessage.user(f"(Summary of the earlier conversation) {m.content or ''}")
    return None
