"""Agents: create, read, list, update, delete; and the rows that hang off them (tags, attachments)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, delete, func, insert, select, update

from llm_persona.errors import BlockLimitError, ConflictError
from llm_persona.store.base import (
    UNSET,
    StoreBase,
    Unset,
    agent_not_found,
    block_not_found,
    cursor_key,
    dedupe,
    fetch_page,
    given,
    like_pattern,
    page,
    tool_not_found,
)
from llm_persona.store.records import AgentRecord, BlockRecord, utcnow
from llm_persona.store.tables import agent_tags, agents, agents_blocks, agents_tools, blocks, tools

#: Changing any of these makes the saved compiled system prompt stale.
PROMPT_FIELDS = frozenset({"system", "persona_name", "persona_version", "persona_label", "persona_vars"})


class AgentsRepo(StoreBase):
    """Agents of a tenant."""

    def create_agent(
        self, tenant: str, agent: AgentRecord, *, new_blocks: Sequence[BlockRecord] = ()
    ) -> AgentRecord:
        """Insert `agent` (stamped with `tenant`), creating `new_blocks` in the same transaction.

        The agent's blocks are `agent.block_ids` in that order, then any of `new_blocks` not listed
        there. Unknown block or tool ids raise BlockNotFoundError / ToolNotFoundError; two blocks
        with one label raise ConflictError; nothing is written then.
        """
        block_ids = dedupe([*agent.block_ids, *(b.id for b in new_blocks)])
        tool_ids = dedupe(agent.tool_ids)
        tags = dedupe(agent.tags)
        with self._write() as conn:
            for block in new_blocks:
                insert_block(conn, tenant, block)
            labels = block_labels(conn, tenant, block_ids)
            check_tools(conn, tenant, tool_ids)
            conn.execute(
                insert(agents).values(
                    id=agent.id,
                    tenant=tenant,
                    name=agent.name,
                    description=agent.description,
                    system=agent.system,
                    model=agent.model,
                    embedding=agent.embedding,
                    persona_name=agent.persona_name,
                    persona_version=agent.persona_version,
                    persona_label=agent.persona_label,
                    persona_vars=agent.persona_vars,
                    tags=tags,
                    metadata=agent.metadata,
                    llm_config=agent.llm_config,
                    compiled_system=None,
                    compiled_memory=None,
                    last_seq=0,
                    context_start_seq=agent.context_start_seq,
                    created_at=agent.created_at,
                    updated_at=agent.created_at,
                )
            )
            _set_tags(conn, agent.id, tags)
            set_agent_blocks(conn, agent.id, block_ids, labels)
            set_agent_tools(conn, agent.id, tool_ids)
            if agent.compiled_system is not None:
                save_compiled_system(conn, agent.id, agent.compiled_system)
            return load_agent(conn, tenant, agent.id)

    def get_agent(self, tenant: str, agent_id: str) -> AgentRecord:
        """The agent, or AgentNotFoundError."""
        with self._read() as conn:
            return load_agent(conn, tenant, agent_id)

    def list_agents(
        self,
        tenant: str,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool = False,
        query_text: str | None = None,
        persona_name: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[AgentRecord]:
        """Agents in creation order, filtered; `after`/`before` are agent ids (see `base.page`)."""
        where = _agent_filters(tenant, name, tags, match_all_tags, query_text, persona_name)
        with self._read() as conn:
            after_key = self._agent_cursor(conn, tenant, after)
            before_key = self._agent_cursor(conn, tenant, before)
            stmt, reverse = page(
                select(agents).where(*where),
                agents.c.pk,
                after=after_key,
                before=before_key,
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
            return agents_from_rows(conn, rows)

    def count_agents(
        self,
        tenant: str,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        match_all_tags: bool = False,
        query_text: str | None = None,
        persona_name: str | None = None,
    ) -> int:
        """How many agents match the filters of `list_agents`."""
        where = _agent_filters(tenant, name, tags, match_all_tags, query_text, persona_name)
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(agents).where(*where)).scalar_one())

    def update_agent(
        self,
        tenant: str,
        agent_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        system: str | Unset | None = UNSET,
        model: str | Unset = UNSET,
        embedding: str | Unset | None = UNSET,
        persona_name: str | Unset | None = UNSET,
        persona_version: int | Unset | None = UNSET,
        persona_label: str | Unset | None = UNSET,
        persona_vars: dict[str, Any] | Unset = UNSET,
        tags: Sequence[str] | Unset = UNSET,
        metadata: dict[str, Any] | Unset = UNSET,
        llm_config: dict[str, Any] | Unset = UNSET,
        compiled_system: str | Unset | None = UNSET,
        context_start_seq: int | Unset = UNSET,
        block_ids: Sequence[str] | Unset = UNSET,
        tool_ids: Sequence[str] | Unset = UNSET,
    ) -> AgentRecord:
        """Change the given fields (block_ids / tool_ids replace the attachments, in that order)."""
        changes = given(
            name=name,
            description=description,
            system=system,
            model=model,
            embedding=embedding,
            persona_name=persona_name,
            persona_version=persona_version,
            persona_label=persona_label,
            persona_vars=persona_vars,
            metadata=metadata,
            llm_config=llm_config,
            context_start_seq=context_start_seq,
        )
        if compiled_system is None or (PROMPT_FIELDS & changes.keys() and isinstance(compiled_system, Unset)):
            changes["compiled_system"] = None  # a str is saved below, against the memory as updated here
        if isinstance(context_start_seq, int) and context_start_seq < 1:
            raise ValueError(f"context_start_seq must be 1 or more, not {context_start_seq}.")
        if not isinstance(tags, Unset):
            changes["tags"] = dedupe(tags)
        with self._write() as conn:
            found = conn.execute(
                update(agents)
                .where(agents.c.tenant == tenant, agents.c.id == agent_id)
                .values(updated_at=utcnow(), **changes)
            )
            if found.rowcount != 1:
                raise agent_not_found(tenant, agent_id)
            if not isinstance(tags, Unset):
                conn.execute(delete(agent_tags).where(agent_tags.c.agent_id == agent_id))
                _set_tags(conn, agent_id, changes["tags"])
            if not isinstance(block_ids, Unset):
                ids = dedupe(block_ids)
                labels = block_labels(conn, tenant, ids)
                conn.execute(delete(agents_blocks).where(agents_blocks.c.agent_id == agent_id))
                set_agent_blocks(conn, agent_id, ids, labels)
            if not isinstance(tool_ids, Unset):
                ids = dedupe(tool_ids)
                check_tools(conn, tenant, ids)
                conn.execute(delete(agents_tools).where(agents_tools.c.agent_id == agent_id))
                set_agent_tools(conn, agent_id, ids)
            if isinstance(compiled_system, str):
                save_compiled_system(conn, agent_id, compiled_system)
            return load_agent(conn, tenant, agent_id)

    def delete_agent(self, tenant: str, agent_id: str) -> None:
        """Delete the agent with its messages, steps and passages; its blocks and tools stay."""
        with self._write() as conn:
            found = conn.execute(delete(agents).where(agents.c.tenant == tenant, agents.c.id == agent_id))
            if found.rowcount != 1:
                raise agent_not_found(tenant, agent_id)

    def _agent_cursor(self, conn: Connection, tenant: str, agent_id: str | None) -> int | None:
        if agent_id is None:
            return None
        key = cursor_key(conn, agents, "pk", agents.c.tenant == tenant, agents.c.id == agent_id)
        if key is None:
            raise agent_not_found(tenant, agent_id)
        return key


def _agent_filters(
    tenant: str,
    name: str | None,
    tags: Sequence[str] | None,
    match_all_tags: bool,
    query_text: str | None,
    persona_name: str | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [agents.c.tenant == tenant]
    if name is not None:
        where.append(agents.c.name == name)
    if persona_name is not None:
        where.append(agents.c.persona_name == persona_name)
    if query_text:
        where.append(agents.c.name.ilike(like_pattern(query_text), escape="\\"))
    if tags:
        wanted = dedupe(tags)
        tagged = select(agent_tags.c.agent_id).where(agent_tags.c.tag.in_(wanted))
        if match_all_tags:
            tagged = tagged.group_by(agent_tags.c.agent_id).having(func.count() == len(wanted))
        where.append(agents.c.id.in_(tagged))
    return where


# --- helpers shared with the other repositories ----------------------------------------------------


_AGENT = select(agents).where(agents.c.tenant == bindparam("tenant"), agents.c.id == bindparam("agent_id"))
_EXISTS = select(agents.c.pk).where(
    agents.c.tenant == bindparam("tenant"), agents.c.id == bindparam("agent_id")
)
_BLOCK_REFS = (
    select(agents_blocks.c.agent_id, agents_blocks.c.block_id, blocks.c.version)
    .join(blocks, blocks.c.id == agents_blocks.c.block_id)
    .where(agents_blocks.c.agent_id.in_(bindparam("ids", expanding=True)))
    .order_by(agents_blocks.c.agent_id, agents_blocks.c.position)
)
_TOOL_IDS = (
    select(agents_tools.c.agent_id, agents_tools.c.tool_id)
    .where(agents_tools.c.agent_id.in_(bindparam("ids", expanding=True)))
    .order_by(agents_tools.c.agent_id, agents_tools.c.position)
)
_MEMORY = (
    select(agents_blocks.c.block_id, blocks.c.version)
    .join(blocks, blocks.c.id == agents_blocks.c.block_id)
    .where(agents_blocks.c.agent_id == bindparam("agent_id"))
    .order_by(agents_blocks.c.position)
)
_SAVE_COMPILED = (
    update(agents)
    .where(agents.c.id == bindparam("b_agent_id"))
    .values(compiled_system=bindparam("b_compiled"), compiled_memory=bindparam("b_memory"))
)


def agent_row(conn: Connection, tenant: str, agent_id: str) -> Row[Any]:
    """The agent's row, or AgentNotFoundError."""
    row = conn.execute(_AGENT, {"tenant": tenant, "agent_id": agent_id}).first()
    if row is None:
        raise agent_not_found(tenant, agent_id)
    return row


def load_agent(conn: Connection, tenant: str, agent_id: str) -> AgentRecord:
    """Read one agent with its attachments, or raise AgentNotFoundError."""
    return agents_from_rows(conn, [agent_row(conn, tenant, agent_id)])[0]


def require_agent(conn: Connection, tenant: str, agent_id: str) -> None:
    """Raise AgentNotFoundError unless the agent exists in `tenant`."""
    if conn.execute(_EXISTS, {"tenant": tenant, "agent_id": agent_id}).first() is None:
        raise agent_not_found(tenant, agent_id)


def agents_from_rows(conn: Connection, rows: Sequence[Row[Any]]) -> list[AgentRecord]:
    """Records for agent rows, with block and tool ids read in two queries for all of them."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    block_refs: dict[str, list[tuple[str, int]]] = {agent_id: [] for agent_id in ids}
    for agent_id, block_id, version in conn.execute(_BLOCK_REFS, {"ids": ids}):
        block_refs[agent_id].append((block_id, version))
    tool_ids: dict[str, list[str]] = {agent_id: [] for agent_id in ids}
    for agent_id, tool_id in conn.execute(_TOOL_IDS, {"ids": ids}):
        tool_ids[agent_id].append(tool_id)
    return [agent_record(row, block_refs[row.id], tool_ids[row.id]) for row in rows]


def agent_record(row: Row[Any], block_refs: Sequence[tuple[str, int]], tool_ids: list[str]) -> AgentRecord:
    """The record of an agent row, given its blocks (id, version) and tool ids in order."""
    values = row._asdict()
    del values["pk"]
    compiled_memory = values.pop("compiled_memory")
    if compiled_memory is None or compiled_memory != memory_key(block_refs):
        values["compiled_system"] = None  # compiled from memory that has changed since
    return AgentRecord(**values, block_ids=[block_id for block_id, _ in block_refs], tool_ids=tool_ids)


def memory_key(block_refs: Sequence[tuple[str, int]]) -> str:
    """A short hash of the agent's blocks and their versions, in order: what a prompt was compiled from."""
    text = "|".join(f"{block_id}:{version}" for block_id, version in block_refs)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def current_memory_key(conn: Connection, agent_id: str, seen: Mapping[str, int] | None = None) -> str:
    """The memory key of the agent's blocks as they are now, or as a reader saw them.

    `seen` maps block ids to the versions a reader saw; other blocks count at their current version.
    """
    refs = conn.execute(_MEMORY, {"agent_id": agent_id})
    seen = seen or {}
    return memory_key([(block_id, seen.get(block_id, version)) for block_id, version in refs])


def save_compiled_system(
    conn: Connection, agent_id: str, compiled_system: str, seen: Mapping[str, int] | None = None
) -> None:
    """Save the compiled system prompt against the agent's memory (as `seen`: see current_memory_key)."""
    key = current_memory_key(conn, agent_id, seen)
    conn.execute(_SAVE_COMPILED, {"b_agent_id": agent_id, "b_compiled": compiled_system, "b_memory": key})


def insert_block(conn: Connection, tenant: str, block: BlockRecord) -> None:
    """Insert a new block after checking its value against its limit."""
    check_block_value(block.id, block.label, block.value, block.limit)
    conn.execute(
        insert(blocks).values(
            id=block.id,
            tenant=tenant,
            label=block.label,
            value=block.value,
            char_limit=block.limit,
            description=block.description,
            read_only=block.read_only,
            metadata=block.metadata,
            version=block.version,
            created_at=block.created_at,
            updated_at=block.created_at,
        )
    )


def check_block_value(block_id: str, label: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise BlockLimitError(
            f"Block {label!r} ({block_id}) would hold {len(value)} characters, over its limit of {limit}. "
            "Shorten the value, or raise the block's limit first."
        )


def block_labels(conn: Connection, tenant: str, block_ids: Sequence[str]) -> dict[str, str]:
    """Block id -> label for `block_ids`; BlockNotFoundError for an unknown one, ConflictError for a repeat label."""
    if not block_ids:
        return {}
    rows = conn.execute(
        select(blocks.c.id, blocks.c.label).where(blocks.c.tenant == tenant, blocks.c.id.in_(block_ids))
    ).all()
    labels: dict[str, str] = {block_id: label for block_id, label in rows}  # noqa: C416
    for block_id in block_ids:
        if block_id not in labels:
            raise block_not_found(tenant, block_id)
    seen: dict[str, str] = {}
    for block_id in block_ids:
        label = labels[block_id]
        if label in seen:
            raise ConflictError(
                f"Blocks {seen[label]!r} and {block_id!r} are both labelled {label!r}; an agent holds one "
                "block per label. Attach only one of them, or relabel one."
            )
        seen[label] = block_id
    return labels


def set_agent_blocks(
    conn: Connection, agent_id: str, block_ids: Sequence[str], labels: dict[str, str]
) -> None:
    if block_ids:
        conn.execute(
            insert(agents_blocks),
            [
                {"agent_id": agent_id, "block_id": block_id, "label": labels[block_id], "position": i}
                for i, block_id in enumerate(block_ids)
            ],
        )


def check_tools(conn: Connection, tenant: str, tool_ids: Sequence[str]) -> None:
    """Raise ToolNotFoundError unless every tool id exists in `tenant`."""
    if not tool_ids:
        return
    found = set(
        conn.execute(select(tools.c.id).where(tools.c.tenant == tenant, tools.c.id.in_(tool_ids))).scalars()
    )
    for tool_id in tool_ids:
        if tool_id not in found:
            raise tool_not_found(tenant, tool_id)


def set_agent_tools(conn: Connection, agent_id: str, tool_ids: Sequence[str]) -> None:
    if tool_ids:
        conn.execute(
            insert(agents_tools),
            [{"agent_id": agent_id, "tool_id": tool_id, "position": i} for i, tool_id in enumerate(tool_ids)],
        )


def _set_tags(conn: Connection, agent_id: str, tags: Sequence[str]) -> None:
    if tags:
        conn.execute(insert(agent_tags), [{"agent_id": agent_id, "tag": tag} for tag in tags])
