"""Recall memory: an agent's messages, paged by sequence number and searched by keyword."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, func, select

from llm_persona.store.agents import require_agent
from llm_persona.store.base import StoreBase, check_limit, fetch_page, page, record_columns, to_record
from llm_persona.store.errors import MessageNotFoundError
from llm_persona.store.records import MessageRecord
from llm_persona.store.search import keyword_match
from llm_persona.store.tables import messages

MESSAGE_FIELDS, MESSAGE_COLUMNS = record_columns(MessageRecord, messages)
_CONTEXT = (
    select(*MESSAGE_COLUMNS)
    .where(messages.c.agent_id == bindparam("agent_id"), messages.c.seq >= bindparam("start"))
    .order_by(messages.c.seq)
)


class MessagesRepo(StoreBase):
    """Messages of an agent. They are written only by `commit_step`."""

    def list_messages(
        self,
        tenant: str,
        agent_id: str,
        *,
        after: str | None = None,
        before: str | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        roles: Sequence[str] | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[MessageRecord]:
        """The agent's messages in sequence order.

        Cursors are message ids (`after`, `before`) or sequence numbers (`after_seq`, `before_seq`),
        exclusive and meant in the listing order (see `base.page`); give at most one of each pair.
        """
        if (after is not None and after_seq is not None) or (before is not None and before_seq is not None):
            raise ValueError("Give a message id (after/before) or a seq (after_seq/before_seq), not both.")
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            if after is not None:
                after_seq = _message_seq(conn, tenant, agent_id, after)
            if before is not None:
                before_seq = _message_seq(conn, tenant, agent_id, before)
            where = _where(tenant, agent_id, roles)
            stmt, reverse = page(
                select(*MESSAGE_COLUMNS).where(*where),
                messages.c.seq,
                after=after_seq,
                before=before_seq,
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
        return [message_from_row(row) for row in rows]

    def get_message(self, tenant: str, agent_id: str, message_id: str) -> MessageRecord:
        """One message of the agent, or MessageNotFoundError."""
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            row = conn.execute(
                select(*MESSAGE_COLUMNS).where(
                    messages.c.tenant == tenant, messages.c.agent_id == agent_id, messages.c.id == message_id
                )
            ).first()
        if row is None:
            raise _not_found(tenant, agent_id, message_id)
        return message_from_row(row)

    def count_messages(self, tenant: str, agent_id: str, *, roles: Sequence[str] | None = None) -> int:
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            stmt = select(func.count()).select_from(messages).where(*_where(tenant, agent_id, roles))
            return int(conn.execute(stmt).scalar_one())

    def search_messages(
        self,
        tenant: str,
        agent_id: str,
        query: str,
        *,
        roles: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10,
    ) -> list[MessageRecord]:
        """Messages whose content contains any word of `query` (any case): most words first, then newest.

        `start` and `end` bound created_at (inclusive). An empty query lists the newest messages.
        """
        check_limit(limit)
        where = _where(tenant, agent_id, roles)
        if start is not None:
            where.append(messages.c.created_at >= start)
        if end is not None:
            where.append(messages.c.created_at <= end)
        match = keyword_match(messages.c.content, query)
        stmt = select(*MESSAGE_COLUMNS)
        if match is None:
            stmt = stmt.where(*where).order_by(messages.c.seq.desc())
        else:
            hit, score = match
            stmt = stmt.where(*where, hit).order_by(score.desc(), messages.c.seq.desc())
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            rows = conn.execute(stmt.limit(limit)).all()
        return [message_from_row(row) for row in rows]


def _where(tenant: str, agent_id: str, roles: Sequence[str] | None) -> list[ColumnElement[bool]]:
    where = [messages.c.tenant == tenant, messages.c.agent_id == agent_id]
    if roles is not None:
        where.append(messages.c.role.in_(list(roles)))
    return where


def _message_seq(conn: Connection, tenant: str, agent_id: str, message_id: str) -> int:
    seq = conn.execute(
        select(messages.c.seq).where(
            messages.c.tenant == tenant, messages.c.agent_id == agent_id, messages.c.id == message_id
        )
    ).scalar_one_or_none()
    if seq is None:
        raise _not_found(tenant, agent_id, message_id)
    return int(seq)


def _not_found(tenant: str, agent_id: str, message_id: str) -> MessageNotFoundError:
    return MessageNotFoundError(
        f"No message {message_id!r} for agent {agent_id!r} (tenant {tenant!r}). "
        f"List its messages with GET /v1/agents/{agent_id}/messages."
    )


def read_context_messages(conn: Connection, agent_id: str, start_seq: int) -> list[MessageRecord]:
    """The agent's messages with seq >= start_seq, oldest first."""
    rows = conn.execute(_CONTEXT, {"agent_id": agent_id, "start": start_seq})
    return [to_record(MessageRecord, MESSAGE_FIELDS, row) for row in rows]


def message_from_row(row: Row[Any]) -> MessageRecord:
    return to_record(MessageRecord, MESSAGE_FIELDS, row)
