"""Core memory blocks: CRUD, attaching them to agents, and who shares a block."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from llm_persona.errors import BlockNotFoundError, ConflictError
from llm_persona.store.agents import (
    agents_from_rows,
    check_block_value,
    insert_block,
    load_agent,
    require_agent,
)
from llm_persona.store.base import (
    UNSET,
    StoreBase,
    Unset,
    block_not_found,
    cursor_key,
    fetch_page,
    given,
    page,
    record_columns,
    to_record,
)
from llm_persona.store.records import AgentRecord, BlockRecord, utcnow
from llm_persona.store.tables import agents, agents_blocks, blocks

BLOCK_FIELDS, BLOCK_COLUMNS = record_columns(BlockRecord, blocks, {"limit": "char_limit"})
_AGENT_BLOCKS = (
    select(*BLOCK_COLUMNS)
    .join(agents_blocks, agents_blocks.c.block_id == blocks.c.id)
    .where(agents_blocks.c.agent_id == bindparam("agent_id"))
    .order_by(agents_blocks.c.position)
)


class BlocksRepo(StoreBase):
    """Memory blocks of a tenant, and their attachments to agents."""

    def create_block(self, tenant: str, block: BlockRecord) -> BlockRecord:
        """Insert `block` (stamped with `tenant`); BlockLimitError if its value is over its limit."""
        with self._write() as conn:
            insert_block(conn, tenant, block)
            return _load_block(conn, tenant, block.id)

    def get_block(self, tenant: str, block_id: str) -> BlockRecord:
        """The block, or BlockNotFoundError."""
        with self._read() as conn:
            return _load_block(conn, tenant, block_id)

    def list_blocks(
        self,
        tenant: str,
        *,
        label: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[BlockRecord]:
        """Blocks in creation order; `after`/`before` are block ids (see `base.page`)."""
        where = [blocks.c.tenant == tenant]
        if label is not None:
            where.append(blocks.c.label == label)
        with self._read() as conn:
            stmt, reverse = page(
                select(*BLOCK_COLUMNS).where(*where),
                blocks.c.pk,
                after=self._block_cursor(conn, tenant, after),
                before=self._block_cursor(conn, tenant, before),
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
        return [block_from_row(row) for row in rows]

    def count_blocks(self, tenant: str, *, label: str | None = None) -> int:
        where = [blocks.c.tenant == tenant]
        if label is not None:
            where.append(blocks.c.label == label)
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(blocks).where(*where)).scalar_one())

    def update_block(
        self,
        tenant: str,
        block_id: str,
        *,
        value: str | Unset = UNSET,
        label: str | Unset = UNSET,
        limit: int | Unset = UNSET,
        description: str | Unset | None = UNSET,
        read_only: bool | Unset = UNSET,
        metadata: dict[str, Any] | Unset = UNSET,
        expected_version: int | None = None,
    ) -> BlockRecord:
        """Change the given fields and bump the version.

        BlockLimitError if the value would be over the limit; ConflictError if `expected_version` is
        not the current version, or a new label clashes with another block of an agent holding this
        one. Nothing is written then.
        """
        changes = given(
            value=value, label=label, char_limit=limit, description=description, read_only=read_only
        )
        if not isinstance(metadata, Unset):
            changes["metadata"] = metadata
        with self._write() as conn:
            row = conn.execute(
                self._for_update(
                    select(*BLOCK_COLUMNS).where(blocks.c.tenant == tenant, blocks.c.id == block_id)
                )
            ).first()
            if row is None:
                raise block_not_found(tenant, block_id)
            if expected_version is not None and row.version != expected_version:
                raise ConflictError(
                    f"Block {block_id!r} is at version {row.version}, not {expected_version}: it changed "
                    "since you read it. Read it again and reapply your edit."
                )
            new_label = changes.get("label", row.label)
            check_block_value(
                block_id,
                new_label,
                changes.get("value", row.value),
                changes.get("char_limit", row.char_limit),
            )
            if new_label != row.label:
                _check_relabel(conn, block_id, new_label)
                conn.execute(
                    update(agents_blocks).where(agents_blocks.c.block_id == block_id).values(label=new_label)
                )
            conn.execute(
                update(blocks)
                .where(blocks.c.id == block_id)
                .values(version=blocks.c.version + 1, updated_at=utcnow(), **changes)
            )
            return _load_block(conn, tenant, block_id)

    def delete_block(self, tenant: str, block_id: str) -> None:
        """Delete the block; agents holding it lose it."""
        with self._write() as conn:
            found = conn.execute(delete(blocks).where(blocks.c.tenant == tenant, blocks.c.id == block_id))
            if found.rowcount != 1:
                raise block_not_found(tenant, block_id)

    def attach_block(self, tenant: str, agent_id: str, block_id: str) -> AgentRecord:
        """Give the agent the block, after its others; a no-op if it already has it.

        ConflictError if the agent already holds another block with the same label.
        """
        with self._write() as conn:
            self._lock_agent(conn, tenant, agent_id)
            block = conn.execute(
                select(blocks.c.label).where(blocks.c.tenant == tenant, blocks.c.id == block_id)
            ).first()
            if block is None:
                raise block_not_found(tenant, block_id)
            held = conn.execute(
                select(agents_blocks.c.block_id).where(
                    agents_blocks.c.agent_id == agent_id, agents_blocks.c.label == block.label
                )
            ).scalar_one_or_none()
            if held is not None and held != block_id:
                raise ConflictError(
                    f"Agent {agent_id!r} already holds block {held!r} labelled {block.label!r}. "
                    "Detach that block first, or relabel one of them."
                )
            if held is None:
                position = conn.execute(
                    select(func.coalesce(func.max(agents_blocks.c.position) + 1, 0)).where(
                        agents_blocks.c.agent_id == agent_id
                    )
                ).scalar_one()
                conn.execute(
                    insert(agents_blocks).values(
                        agent_id=agent_id, block_id=block_id, label=block.label, position=position
                    )
                )
            return load_agent(conn, tenant, agent_id)

    def detach_block(self, tenant: str, agent_id: str, block_id: str) -> AgentRecord:
        """Take the block from the agent (the block itself stays); a no-op if the agent lacks it."""
        with self._write() as conn:
            self._lock_agent(conn, tenant, agent_id)
            if not _block_exists(conn, tenant, block_id):
                raise block_not_found(tenant, block_id)
            conn.execute(
                delete(agents_blocks).where(
                    agents_blocks.c.agent_id == agent_id, agents_blocks.c.block_id == block_id
                )
            )
            return load_agent(conn, tenant, agent_id)

    def agent_blocks(self, tenant: str, agent_id: str) -> list[BlockRecord]:
        """The agent's blocks, in prompt order."""
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            return read_agent_blocks(conn, agent_id)

    def agent_block(self, tenant: str, agent_id: str, label: str) -> BlockRecord:
        """The agent's block labelled `label`, or BlockNotFoundError."""
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            row = conn.execute(
                select(*BLOCK_COLUMNS)
                .join(agents_blocks, agents_blocks.c.block_id == blocks.c.id)
                .where(agents_blocks.c.agent_id == agent_id, agents_blocks.c.label == label)
            ).first()
        if row is None:
            raise BlockNotFoundError(
                f"Agent {agent_id!r} (tenant {tenant!r}) has no block labelled {label!r}. "
                f"List its blocks with GET /v1/agents/{agent_id}/core-memory/blocks."
            )
        return block_from_row(row)

    def block_agents(self, tenant: str, block_id: str) -> list[AgentRecord]:
        """The agents holding the block, in creation order."""
        with self._read() as conn:
            if not _block_exists(conn, tenant, block_id):
                raise block_not_found(tenant, block_id)
            rows = conn.execute(
                select(agents)
                .join(agents_blocks, agents_blocks.c.agent_id == agents.c.id)
                .where(agents.c.tenant == tenant, agents_blocks.c.block_id == block_id)
                .order_by(agents.c.pk)
            ).all()
            return agents_from_rows(conn, rows)

    def _block_cursor(self, conn: Connection, tenant: str, block_id: str | None) -> int | None:
        if block_id is None:
            return None
        key = cursor_key(conn, blocks, "pk", blocks.c.tenant == tenant, blocks.c.id == block_id)
        if key is None:
            raise block_not_found(tenant, block_id)
        return key


def _load_block(conn: Connection, tenant: str, block_id: str) -> BlockRecord:
    row = conn.execute(
        select(*BLOCK_COLUMNS).where(blocks.c.tenant == tenant, blocks.c.id == block_id)
    ).first()
    if row is None:
        raise block_not_found(tenant, block_id)
    return block_from_row(row)


def _block_exists(conn: Connection, tenant: str, block_id: str) -> bool:
    found = conn.execute(select(blocks.c.pk).where(blocks.c.tenant == tenant, blocks.c.id == block_id))
    return found.first() is not None


def _check_relabel(conn: Connection, block_id: str, label: str) -> None:
    holders = select(agents_blocks.c.agent_id).where(agents_blocks.c.block_id == block_id)
    clash = conn.execute(
        select(agents_blocks.c.agent_id, agents_blocks.c.block_id).where(
            agents_blocks.c.agent_id.in_(holders),
            agents_blocks.c.label == label,
            agents_blocks.c.block_id != block_id,
        )
    ).first()
    if clash is not None:
        raise ConflictError(
            f"Cannot relabel block {block_id!r} to {label!r}: agent {clash.agent_id!r} also holds block "
            f"{clash.block_id!r} with that label. Detach one of them or pick another label."
        )


def read_agent_blocks(conn: Connection, agent_id: str) -> list[BlockRecord]:
    """The agent's blocks, in prompt order."""
    return [block_from_row(row) for row in conn.execute(_AGENT_BLOCKS, {"agent_id": agent_id})]


def block_from_row(row: Row[Any]) -> BlockRecord:
    return to_record(BlockRecord, BLOCK_FIELDS, row)
