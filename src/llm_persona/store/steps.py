"""One agent step, end to end: read the state it needs, then commit its result in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Row, Update, bindparam, func, insert, select, update

from llm_persona.errors import BlockNotFoundError, ConflictError, ReadOnlyBlockError
from llm_persona.store.agents import (
    agent_record,
    agent_row,
    check_block_value,
    current_memory_key,
    require_agent,
    save_compiled_system,
)
from llm_persona.store.base import (
    UNSET,
    StoreBase,
    agent_not_found,
    cursor_key,
    dedupe,
    fetch_page,
    page,
    record_columns,
    to_record,
)
from llm_persona.store.blocks import read_agent_blocks
from llm_persona.store.errors import StepNotFoundError
from llm_persona.store.messages import read_context_messages
from llm_persona.store.passages import write_passages
from llm_persona.store.records import (
    ROLES,
    TOOL_STATUSES,
    AgentState,
    MessageRecord,
    PassageRecord,
    StepRecord,
    utcnow,
)
from llm_persona.store.tables import agents, agents_blocks, blocks, steps
from llm_persona.store.tables import messages as messages_table
from llm_persona.store.tools import read_agent_tools

#: What `commit_step(agent_changes=...)` may change besides last_seq.
STEP_AGENT_FIELDS = frozenset({"compiled_system", "context_start_seq"})

_MOVE = (
    update(agents)
    .where(
        agents.c.tenant == bindparam("b_tenant"),
        agents.c.id == bindparam("b_agent_id"),
        agents.c.last_seq == bindparam("b_expected"),
    )
    .values(
        last_seq=bindparam("b_last_seq"),
        updated_at=bindparam("b_now"),
        context_start_seq=func.coalesce(bindparam("b_start", type_=Integer), agents.c.context_start_seq),
    )
)
_MOVE_AND_SAVE = _MOVE.values(compiled_system=bindparam("b_compiled"), compiled_memory=bindparam("b_memory"))


def _move(save_compiled: bool) -> Update:
    """The UPDATE that moves the agent to its new last_seq (if it is still at the expected one)."""
    return _MOVE_AND_SAVE if save_compiled else _MOVE


_INSERT_STEP = insert(steps)
_INSERT_MESSAGE = insert(messages_table)
_WRITE_BLOCK = (
    update(blocks)
    .where(blocks.c.id == bindparam("b_id"))
    .values(value=bindparam("b_value"), version=blocks.c.version + 1, updated_at=bindparam("b_now"))
)


STEP_FIELDS, STEP_COLUMNS = record_columns(StepRecord, steps)


class StepsRepo(StoreBase):
    """Agent steps: the state one step reads and the one transaction it writes."""

    def load_agent_state(self, tenant: str, agent_id: str, *, after_seq: int = 0) -> AgentState:
        """The agent, its blocks, its tools and its in-context messages, from one snapshot.

        With `after_seq`, only in-context messages newer than it: for a caller that holds the rest.
        """
        with self._read() as conn:
            row = agent_row(conn, tenant, agent_id)
            blocks = read_agent_blocks(conn, agent_id)
            tools = read_agent_tools(conn, agent_id)
            return AgentState(
                agent=agent_record(row, [(b.id, b.version) for b in blocks], [t.id for t in tools]),
                blocks=blocks,
                tools=tools,
                messages=read_context_messages(conn, agent_id, max(row.context_start_seq, after_seq + 1)),
            )

    def commit_step(
        self,
        tenant: str,
        agent_id: str,
        *,
        expected_last_seq: int,
        step: StepRecord | None,
        messages: Sequence[MessageRecord],
        block_writes: Mapping[str, str] | None = None,
        block_versions: Mapping[str, int] | None = None,
        agent_changes: Mapping[str, Any] | None = None,
        passages: Sequence[PassageRecord] = (),
    ) -> list[MessageRecord]:
        """Write a step, its messages, its block edits, the archival passages it inserted and the
        agent's new position, all or nothing.

        Messages get seq expected_last_seq+1, +2, ... (and the step's id); the agent's last_seq
        becomes the last of them. ConflictError if the agent's last_seq is not `expected_last_seq`
        (another writer got there first: hold `agent_lock`). Block writes must target the agent's
        own, writable blocks and fit their limits (BlockNotFoundError, ReadOnlyBlockError,
        BlockLimitError). `agent_changes` may set compiled_system and context_start_seq.

        `block_versions` are the blocks' versions as the step read them (AgentState.blocks). A
        written block no longer at its version is a ConflictError (an agent sharing it wrote it
        meanwhile); for the others, a saved compiled_system counts as compiled from those versions,
        so it reads as stale (None) if another agent changed one of them. Without `block_versions`
        the prompt is saved against the blocks as they are at commit.

        Returns the messages as stored.
        """
        changes = dict(agent_changes or {})
        unknown = changes.keys() - STEP_AGENT_FIELDS
        if unknown:
            raise TypeError(
                f"commit_step cannot change {sorted(unknown)} of an agent; it changes only "
                f"{sorted(STEP_AGENT_FIELDS)}. Use update_agent() for the rest."
            )
        stored = _number(agent_id, expected_last_seq, step, messages)
        start = changes.get("context_start_seq")
        if start is not None and not 1 <= start <= expected_last_seq + len(stored) + 1:
            raise ValueError(
                f"context_start_seq must be between 1 and {expected_last_seq + len(stored) + 1} "
                f"(one past the newest message), not {start}."
            )
        now = utcnow()
        params: dict[str, Any] = {
            "b_tenant": tenant,
            "b_agent_id": agent_id,
            "b_expected": expected_last_seq,
            "b_last_seq": expected_last_seq + len(stored),
            "b_now": now,
            "b_start": start,
        }
        compiled = changes.get("compiled_system", UNSET)
        # Versions the step read of the blocks it did not write: the prompt was compiled from those.
        seen = {b: v for b, v in (block_versions or {}).items() if b not in (block_writes or {})}
        # Without block writes, the prompt is saved in the same UPDATE that moves the agent.
        save_now = compiled is not UNSET and (compiled is None or not block_writes)
        with self._write() as conn:
            if save_now:
                params["b_compiled"] = compiled
                params["b_memory"] = None if compiled is None else current_memory_key(conn, agent_id, seen)
            if conn.execute(_move(save_now), params).rowcount != 1:
                _raise_moved(conn, tenant, agent_id, expected_last_seq)
            if block_writes:
                _write_blocks(conn, tenant, agent_id, block_writes, block_versions or {}, now)
                if isinstance(compiled, str):
                    save_compiled_system(conn, agent_id, compiled, seen)
            if step is not None:
                conn.execute(_INSERT_STEP, _step_row(tenant, agent_id, step))
            if stored:
                conn.execute(_INSERT_MESSAGE, [_message_row(tenant, m) for m in stored])
            write_passages(
                conn, [replace(p, tenant=tenant, agent_id=agent_id, tags=dedupe(p.tags)) for p in passages]
            )
        return stored

    def get_step(self, tenant: str, step_id: str) -> StepRecord:
        """One step, or StepNotFoundError."""
        with self._read() as conn:
            row = conn.execute(
                select(*STEP_COLUMNS).where(steps.c.tenant == tenant, steps.c.id == step_id)
            ).first()
        if row is None:
            raise _step_not_found(tenant, step_id)
        return step_from_row(row)

    def list_steps(
        self,
        tenant: str,
        agent_id: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[StepRecord]:
        """The agent's steps in the order they were committed; `after`/`before` are step ids."""
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            cursors = []
            for step_id in (after, before):
                key = None
                if step_id is not None:
                    key = cursor_key(conn, steps, "pk", steps.c.agent_id == agent_id, steps.c.id == step_id)
                    if key is None:
                        raise _step_not_found(tenant, step_id)
                cursors.append(key)
            stmt, reverse = page(
                select(*STEP_COLUMNS).where(steps.c.tenant == tenant, steps.c.agent_id == agent_id),
                steps.c.pk,
                after=cursors[0],
                before=cursors[1],
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
        return [step_from_row(row) for row in rows]


def _number(
    agent_id: str, last_seq: int, step: StepRecord | None, new: Sequence[MessageRecord]
) -> list[MessageRecord]:
    stored = []
    for i, message in enumerate(new, start=1):
        if message.role not in ROLES:
            raise ValueError(f"Message {message.id!r} has role {message.role!r}; use one of {sorted(ROLES)}.")
        if message.tool_status not in TOOL_STATUSES:
            raise ValueError(
                f"Message {message.id!r} has tool_status {message.tool_status!r}; use 'success', 'error' or None."
            )
        step_id = step.id if step is not None else message.step_id
        stored.append(replace(message, agent_id=agent_id, seq=last_seq + i, step_id=step_id))
    return stored


def _raise_moved(conn: Connection, tenant: str, agent_id: str, expected: int) -> None:
    actual = conn.execute(
        select(agents.c.last_seq).where(agents.c.tenant == tenant, agents.c.id == agent_id)
    ).scalar_one_or_none()
    if actual is None:
        raise agent_not_found(tenant, agent_id)
    raise ConflictError(
        f"Agent {agent_id!r} moved on: its newest message is seq {actual}, not {expected}. Another "
        "request wrote to it; take store.agent_lock(agent_id), re-read the agent and run the step again."
    )


def _write_blocks(
    conn: Connection,
    tenant: str,
    agent_id: str,
    writes: Mapping[str, str],
    versions: Mapping[str, int],
    now: datetime,
) -> None:
    ids = sorted(writes)  # one lock order for every writer: no deadlocks between agents sharing blocks
    stmt = (
        select(blocks.c.id, blocks.c.label, blocks.c.char_limit, blocks.c.read_only, blocks.c.version)
        .join(agents_blocks, agents_blocks.c.block_id == blocks.c.id)
        .where(agents_blocks.c.agent_id == agent_id, blocks.c.tenant == tenant, blocks.c.id.in_(ids))
        .order_by(blocks.c.id)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=blocks)
    found = {row.id: row for row in conn.execute(stmt)}
    for block_id in ids:
        row = found.get(block_id)
        if row is None:
            raise BlockNotFoundError(
                f"Agent {agent_id!r} (tenant {tenant!r}) holds no block {block_id!r}, so its step cannot "
                "write it. Attach the block first, or write one of the agent's own blocks."
            )
        if row.read_only:
            raise ReadOnlyBlockError(
                f"Block {row.label!r} ({block_id}) is read-only for agents. A user can still change it "
                f"with PATCH /v1/blocks/{block_id}, or set read_only to false there."
            )
        if block_id in versions and versions[block_id] != row.version:
            raise ConflictError(
                f"Block {row.label!r} ({block_id}) is at version {row.version}, not {versions[block_id]}: "
                "another agent sharing it wrote it meanwhile. Re-read the block and redo the edit."
            )
        check_block_value(block_id, row.label, writes[block_id], row.char_limit)
    conn.execute(_WRITE_BLOCK, [{"b_id": i, "b_value": writes[i], "b_now": now} for i in ids])


def _step_row(tenant: str, agent_id: str, step: StepRecord) -> dict[str, Any]:
    return {
        "id": step.id,
        "tenant": tenant,
        "agent_id": agent_id,
        "model": step.model,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cached_input_tokens": step.cached_input_tokens,
        "latency_ms": step.latency_ms,
        "stop_reason": step.stop_reason,
        "persona_name": step.persona_name,
        "persona_version": step.persona_version,
        "persona_fingerprint": step.persona_fingerprint,
        "error": step.error,
        "created_at": step.created_at,
    }


def _message_row(tenant: str, m: MessageRecord) -> dict[str, Any]:
    return {
        "id": m.id,
        "tenant": tenant,
        "agent_id": m.agent_id,
        "seq": m.seq,
        "step_id": m.step_id,
        "role": m.role,
        "content": m.content,
        "tool_calls": m.tool_calls,
        "tool_call_id": m.tool_call_id,
        "tool_name": m.tool_name,
        "tool_status": m.tool_status,
        "reasoning": m.reasoning,
        "otid": m.otid,
        "created_at": m.created_at,
    }


def _step_not_found(tenant: str, step_id: str) -> StepNotFoundError:
    return StepNotFoundError(
        f"No step {step_id!r} (tenant {tenant!r}). List an agent's steps with GET /v1/steps?agent_id=..."
    )


def step_from_row(row: Row[Any]) -> StepRecord:
    return to_record(StepRecord, STEP_FIELDS, row)
