"""What a whole, consistent agent history looks like, checked straight in the database."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping

from llm_persona.store import DEFAULT_TENANT, MessageRecord, Store
from tests.faults.replies import expected_reply


def check_history(
    store: Store,
    agent_id: str,
    *,
    acknowledged: Mapping[str, str] | None = None,
    reply: Callable[[str], str] = expected_reply,
    block: str | None = "log",
) -> list[MessageRecord]:
    """Assert the agent's history is whole and return it:

    - seqs are 1..n without a gap and the agent's last_seq is n;
    - every message belongs to a committed step, and a step's messages are contiguous: its inputs,
      then at most one assistant message, then exactly the results of that message's tool calls, in
      order (no tool call without its result, no result without its call);
    - every user message is answered, if at all, by `reply(text)` before the next user message, and no
      user message is stored twice;
    - every acknowledged message (text -> the reply the client got) is there, answered by that reply;
    - the block `block` holds exactly the memory_insert edits whose results were committed.
    """
    messages = store.list_messages(DEFAULT_TENANT, agent_id)
    agent = store.get_agent(DEFAULT_TENANT, agent_id)
    seqs = [m.seq for m in messages]
    assert seqs == list(range(1, len(messages) + 1)), f"seqs are not 1..{len(messages)}: {seqs}"
    assert agent.last_seq == len(messages), f"last_seq {agent.last_seq} but {len(messages)} messages"

    step_ids = {s.id for s in store.list_steps(DEFAULT_TENANT, agent_id)}
    seen_steps: list[str] = []
    for m in messages:
        assert m.step_id in step_ids, f"message seq {m.seq} belongs to no committed step ({m.step_id})"
        if not seen_steps or seen_steps[-1] != m.step_id:
            assert m.step_id not in seen_steps, f"step {m.step_id} is split (seq {m.seq})"
            seen_steps.append(m.step_id or "")
    for step_id in seen_steps:
        _check_step([m for m in messages if m.step_id == step_id])

    users = [m for m in messages if m.role == "user"]
    twice = [text for text, n in Counter(m.content for m in users).items() if n > 1]
    assert not twice, f"user messages stored twice: {twice}"
    answers = _answers(messages)
    for text, got in (acknowledged or {}).items():
        assert text in answers, f"acknowledged message {text!r} is not in the history"
        assert answers[text] == got == reply(text), f"{text!r} answered {answers[text]!r}, client got {got!r}"
    for text, answer in answers.items():
        assert answer is None or answer == reply(text), f"{text!r} answered by {answer!r}"

    if block is not None:
        value = store.agent_block(DEFAULT_TENANT, agent_id, block).value
        inserted = _committed_inserts(messages, block)
        assert [line for line in value.split("\n") if line] == inserted, (
            "the block does not match the tool results"
        )
    return messages


def _check_step(step: list[MessageRecord]) -> None:
    roles = [m.role for m in step]
    where = f"step {step[0].step_id} (seqs {step[0].seq}..{step[-1].seq}): {roles}"
    inputs = 0
    while inputs < len(step) and step[inputs].role in ("user", "system"):
        inputs += 1
    rest = step[inputs:]
    if not rest:
        return  # a step that failed: its inputs are kept, nothing else
    if rest[0].role == "summary":
        assert len(rest) == 1, where
        assert inputs == 0, where
        return
    assistant, results = rest[0], rest[1:]
    assert assistant.role == "assistant", where
    assert assistant.content or assistant.tool_calls, f"an empty assistant message in {where}"
    assert [r.role for r in results] == ["tool"] * len(results), where
    assert [r.tool_call_id for r in results] == [c["id"] for c in assistant.tool_calls], (
        f"tool calls and results do not match in {where}"
    )


def _answers(messages: list[MessageRecord]) -> dict[str, str | None]:
    """User text -> the text of the assistant message that ended its turn (None: not answered)."""
    out: dict[str, str | None] = {}
    current: str | None = None
    for m in messages:
        if m.role == "user":
            current = m.content or ""
            out[current] = None
        elif m.role == "assistant" and not m.tool_calls and current is not None:
            assert out[current] is None, f"{current!r} answered twice"
            out[current] = m.content
    return out


def _committed_inserts(messages: list[MessageRecord], label: str) -> list[str]:
    calls = {c["id"]: c for m in messages if m.role == "assistant" for c in m.tool_calls}
    out = []
    for m in messages:
        if m.role != "tool" or m.tool_name != "memory_insert":
            continue
        if json.loads(m.content or "{}").get("status") != "OK":
            continue
        args = json.loads(calls[m.tool_call_id or ""]["arguments"])
        if args.get("label") == label:
            out.append(args["new_str"])
    return out
