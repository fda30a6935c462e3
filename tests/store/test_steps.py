"""commit_step: one transaction for a step, its messages, block edits and the agent's position."""

from __future__ import annotations

from typing import Any

import pytest

from llm_persona.errors import (
    AgentNotFoundError,
    BlockLimitError,
    BlockNotFoundError,
    ConflictError,
    ReadOnlyBlockError,
)
from llm_persona.store import (
    AgentRecord,
    BlockRecord,
    MessageRecord,
    PassageRecord,
    StepNotFoundError,
    StepRecord,
    Store,
)

from .helpers import OTHER, TENANT, new_agent, say


def _turn() -> list[MessageRecord]:
    return [
        MessageRecord(role="user", content="What's my order status?", otid="client-1"),
        MessageRecord(
            role="assistant",
            reasoning="Look it up.",
            tool_calls=[{"id": "call_1", "name": "lookup", "arguments": '{"q": "order"}'}],
        ),
        MessageRecord(
            role="tool",
            content="shipped",
            tool_call_id="call_1",
            tool_name="lookup",
            tool_status="success",
        ),
    ]


def _snapshot(store: Store, agent: AgentRecord) -> tuple[Any, ...]:
    """Everything a failed commit must leave alone."""
    return (
        store.get_agent(TENANT, agent.id),
        store.list_messages(TENANT, agent.id),
        store.list_steps(TENANT, agent.id),
        store.agent_blocks(TENANT, agent.id),
        store.list_passages(TENANT, agent.id),
    )


def test_commit_writes_step_messages_blocks_and_agent_position(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="Sam"))
    agent = new_agent(store, block_ids=[block.id])
    step = StepRecord(
        model="openai/gpt-4o-mini",
        input_tokens=120,
        output_tokens=30,
        cached_input_tokens=64,
        latency_ms=812.5,
        stop_reason="tool_calls",
        persona_name="Maya",
        persona_version=2,
        persona_fingerprint="ab" * 32,
    )
    stored = store.commit_step(
        TENANT,
        agent.id,
        expected_last_seq=0,
        step=step,
        messages=_turn(),
        block_writes={block.id: "Sam, waiting for an order"},
        agent_changes={"compiled_system": "SYSTEM", "context_start_seq": 1},
        passages=[PassageRecord(text="Sam's order ships Friday", tags=["orders", "orders"])],
    )
    assert [m.seq for m in stored] == [1, 2, 3]
    (passage,) = store.list_passages(TENANT, agent.id)
    assert (passage.tenant, passage.agent_id, passage.tags) == (TENANT, agent.id, ["orders"])
    assert store.search_passages(TENANT, agent.id, "friday") == [passage]
    assert {m.step_id for m in stored} == {step.id}
    assert {m.agent_id for m in stored} == {agent.id}
    assert store.list_messages(TENANT, agent.id) == stored
    assert stored[1].tool_calls == [{"id": "call_1", "name": "lookup", "arguments": '{"q": "order"}'}]
    assert (stored[2].tool_call_id, stored[2].tool_name, stored[2].tool_status) == (
        "call_1",
        "lookup",
        "success",
    )
    assert stored[0].otid == "client-1"
    assert stored[1].reasoning == "Look it up."

    got_step = store.get_step(TENANT, step.id)
    assert got_step == StepRecord(**{**_fields(step), "agent_id": agent.id})
    assert store.list_steps(TENANT, agent.id) == [got_step]

    state = store.load_agent_state(TENANT, agent.id)
    assert state.agent.last_seq == 3
    assert state.agent.compiled_system == "SYSTEM"  # saved against the memory as written
    assert state.messages == stored
    assert [(b.value, b.version) for b in state.blocks] == [("Sam, waiting for an order", 2)]

    more = say(store, agent.id, "thanks")
    assert [m.seq for m in more] == [4]
    assert store.get_agent(TENANT, agent.id).compiled_system == "SYSTEM"  # memory unchanged


def _fields(step: StepRecord) -> dict[str, Any]:
    return {name: getattr(step, name) for name in step.__dataclass_fields__}


def test_conflict_on_a_stale_last_seq_writes_nothing(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="Sam"))
    agent = new_agent(store, block_ids=[block.id])
    say(store, agent.id, "one", "two")
    before = _snapshot(store, agent)
    with pytest.raises(ConflictError, match="newest message is seq 2, not 1"):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=1,
            step=StepRecord(model="m"),
            messages=[MessageRecord(role="user", content="late")],
            block_writes={block.id: "changed"},
            agent_changes={"compiled_system": "X"},
            passages=[PassageRecord(text="late")],
        )
    assert _snapshot(store, agent) == before


@pytest.mark.parametrize("problem", ["over_limit", "read_only", "not_attached", "unknown", "stale_version"])
def test_a_bad_block_write_rolls_back_the_whole_step(store: Store, problem: str) -> None:
    mine = store.create_block(TENANT, BlockRecord(label="human", value="Sam", limit=20))
    locked = store.create_block(TENANT, BlockRecord(label="policy", value="p", read_only=True))
    foreign = store.create_block(TENANT, BlockRecord(label="other"))
    agent = new_agent(store, block_ids=[mine.id, locked.id])
    say(store, agent.id, "hello")
    before = _snapshot(store, agent)
    writes, versions = {mine.id: "Sam likes tea"}, {}
    error: type[Exception]
    if problem == "over_limit":
        writes[mine.id], error = "x" * 21, BlockLimitError
    elif problem == "read_only":
        writes[locked.id], error = "changed", ReadOnlyBlockError
    elif problem == "not_attached":
        writes[foreign.id], error = "changed", BlockNotFoundError
    elif problem == "unknown":
        writes["block-nope"], error = "changed", BlockNotFoundError
    else:
        versions, error = {mine.id: 7}, ConflictError
    with pytest.raises(error):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=1,
            step=StepRecord(model="m"),
            messages=[MessageRecord(role="assistant", content="done")],
            block_writes=writes,
            block_versions=versions,
            agent_changes={"compiled_system": "X", "context_start_seq": 2},
        )
    assert _snapshot(store, agent) == before
    assert store.get_block(TENANT, foreign.id) == foreign


def test_a_database_error_mid_step_rolls_back_everything(store: Store) -> None:
    agent = new_agent(store)
    first = say(store, agent.id, "hello")[0]
    before = _snapshot(store, agent)
    with pytest.raises(ConflictError, match="refused the change"):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=1,
            step=StepRecord(model="m"),
            messages=[MessageRecord(role="user", content="new"), MessageRecord(id=first.id, role="user")],
        )
    assert _snapshot(store, agent) == before


def test_a_passage_that_cannot_be_stored_rolls_back_the_whole_step(store: Store) -> None:
    agent = new_agent(store)
    (kept,) = store.insert_passages(TENANT, agent.id, [PassageRecord(text="kept")])
    say(store, agent.id, "hello")
    before = _snapshot(store, agent)
    with pytest.raises(ConflictError, match="refused the change"):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=1,
            step=StepRecord(model="m"),
            messages=[MessageRecord(role="assistant", content="noted")],
            passages=[PassageRecord(text="new"), PassageRecord(id=kept.id, text="same id")],
        )
    assert _snapshot(store, agent) == before
    assert store.search_passages(TENANT, agent.id, "new") == []


def test_commit_without_a_step_and_with_no_messages(store: Store) -> None:
    agent = new_agent(store)
    stored = store.commit_step(
        TENANT,
        agent.id,
        expected_last_seq=0,
        step=None,
        messages=[MessageRecord(role="system", content="You are Maya.", step_id=None)],
    )
    assert stored[0].seq == 1
    assert stored[0].step_id is None
    assert store.list_steps(TENANT, agent.id) == []
    assert store.commit_step(TENANT, agent.id, expected_last_seq=1, step=None, messages=[]) == []
    assert store.get_agent(TENANT, agent.id).last_seq == 1


def test_context_start_seq_bounds_the_loaded_context(store: Store) -> None:
    agent = new_agent(store)
    say(store, agent.id, "1", "2", "3")
    summary = store.commit_step(
        TENANT,
        agent.id,
        expected_last_seq=3,
        step=None,
        messages=[MessageRecord(role="summary", content="They counted to 3.")],
        agent_changes={"context_start_seq": 3},
    )
    state = store.load_agent_state(TENANT, agent.id)
    assert state.agent.context_start_seq == 3
    assert [m.content for m in state.messages] == ["3", "They counted to 3."]
    assert summary[0].seq == 4
    assert store.count_messages(TENANT, agent.id) == 4  # recall keeps everything


def test_a_shared_block_written_by_one_agent_makes_the_others_prompt_stale(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org", value="Acme"))
    a = new_agent(store, name="a", block_ids=[shared.id])
    b = new_agent(store, name="b", block_ids=[shared.id])
    store.update_agent(TENANT, b.id, compiled_system="B")
    store.commit_step(
        TENANT,
        a.id,
        expected_last_seq=0,
        step=None,
        messages=[],
        block_writes={shared.id: "Acme Corp"},
        agent_changes={"compiled_system": "A"},
    )
    assert store.get_agent(TENANT, a.id).compiled_system == "A"
    assert store.get_agent(TENANT, b.id).compiled_system is None
    assert store.load_agent_state(TENANT, b.id).agent.compiled_system is None


def test_bad_arguments_are_refused_before_writing(store: Store) -> None:
    agent = new_agent(store)
    with pytest.raises(TypeError, match="cannot change \\['name'\\]"):
        store.commit_step(
            TENANT, agent.id, expected_last_seq=0, step=None, messages=[], agent_changes={"name": "x"}
        )
    with pytest.raises(ValueError, match="role 'robot'"):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=0,
            step=None,
            messages=[MessageRecord(role="robot")],  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="context_start_seq must be between 1 and 2"):
        store.commit_step(
            TENANT,
            agent.id,
            expected_last_seq=0,
            step=None,
            messages=[MessageRecord(role="user")],
            agent_changes={"context_start_seq": 3},
        )
    with pytest.raises(ValueError, match="context_start_seq must be 1 or more"):
        store.update_agent(TENANT, agent.id, context_start_seq=0)
    with pytest.raises(AgentNotFoundError):
        store.commit_step(TENANT, "agent-nope", expected_last_seq=0, step=None, messages=[])
    with pytest.raises(AgentNotFoundError):
        store.commit_step(OTHER, agent.id, expected_last_seq=0, step=None, messages=[])
    assert store.get_agent(TENANT, agent.id).last_seq == 0


def test_steps_are_listed_per_agent_and_tenant(store: Store) -> None:
    a, b = new_agent(store, name="a"), new_agent(store, name="b")
    say(store, a.id, "x")
    say(store, b.id, "y")
    say(store, a.id, "z")
    steps = store.list_steps(TENANT, a.id)
    assert len(steps) == 2
    assert {s.agent_id for s in steps} == {a.id}
    assert store.list_steps(TENANT, a.id, order="desc") == steps[::-1]
    with pytest.raises(StepNotFoundError):
        store.get_step(OTHER, steps[0].id)
    with pytest.raises(StepNotFoundError):
        store.list_steps(TENANT, b.id, after=steps[0].id)


def test_block_versions_mark_a_prompt_compiled_from_old_shared_memory_as_stale(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org", value="Acme"))
    own = store.create_block(TENANT, BlockRecord(label="human", value="Sam"))
    a = new_agent(store, name="a", block_ids=[shared.id, own.id])
    b = new_agent(store, name="b", block_ids=[shared.id])
    seen = {blk.id: blk.version for blk in store.load_agent_state(TENANT, a.id).blocks}
    store.update_block(TENANT, shared.id, value="Acme Corp")  # b's owner edits the shared block

    def commit(last: int, writes: dict[str, str] | None, versions: dict[str, int] | None) -> str | None:
        store.commit_step(
            TENANT,
            a.id,
            expected_last_seq=last,
            step=None,
            messages=[MessageRecord(role="assistant", content="ok")],
            block_writes=writes,
            block_versions=versions,
            agent_changes={"compiled_system": "compiled from Acme"},
        )
        return store.get_agent(TENANT, a.id).compiled_system

    assert commit(0, None, seen) is None  # compiled from version 1 of org: stale
    assert commit(1, {own.id: "Sam, tea"}, seen) is None  # same with a write of its own block
    assert commit(2, None, None) == "compiled from Acme"  # without versions: stamped as current
    fresh = {blk.id: blk.version for blk in store.load_agent_state(TENANT, a.id).blocks}
    assert commit(3, {own.id: "Sam, coffee"}, fresh) == "compiled from Acme"
    assert store.get_agent(TENANT, b.id).block_ids == [shared.id]
