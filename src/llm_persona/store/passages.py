"""Archival memory: an agent's passages, listed by creation, filtered by tags, searched by keyword."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update

from llm_persona.store.agents import require_agent
from llm_persona.store.base import (
    UNSET,
    StoreBase,
    Unset,
    check_limit,
    cursor_key,
    dedupe,
    fetch_page,
    given,
    page,
    record_columns,
    to_record,
)
from llm_persona.store.errors import PassageNotFoundError
from llm_persona.store.records import PassageRecord
from llm_persona.store.search import keyword_match
from llm_persona.store.tables import passage_tags, passages

PASSAGE_FIELDS, PASSAGE_COLUMNS = record_columns(PassageRecord, passages)


class PassagesRepo(StoreBase):
    """Archival passages of an agent."""

    def insert_passages(
        self, tenant: str, agent_id: str, new: Sequence[PassageRecord]
    ) -> list[PassageRecord]:
        """Insert passages for the agent (stamped with tenant and agent id), in one transaction."""
        stored = [replace(p, tenant=tenant, agent_id=agent_id, tags=dedupe(p.tags)) for p in new]
        with self._write() as conn:
            require_agent(conn, tenant, agent_id)
            if stored:
                conn.execute(insert(passages), [_passage_row(p) for p in stored])
                tag_rows = [{"passage_id": p.id, "tag": tag} for p in stored for tag in p.tags]
                if tag_rows:
                    conn.execute(insert(passage_tags), tag_rows)
        return stored

    def get_passage(self, tenant: str, agent_id: str, passage_id: str) -> PassageRecord:
        """One passage of the agent, or PassageNotFoundError."""
        with self._read() as conn:
            row = conn.execute(select(*PASSAGE_COLUMNS).where(*_one(tenant, agent_id, passage_id))).first()
            if row is None:
                require_agent(conn, tenant, agent_id)
                raise _not_found(tenant, agent_id, passage_id)
        return passage_from_row(row)

    def list_passages(
        self,
        tenant: str,
        agent_id: str,
        *,
        tags: Sequence[str] | None = None,
        match_all_tags: bool = False,
        query: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[PassageRecord]:
        """The agent's passages in creation order; `after`/`before` are passage ids (see `base.page`).

        `query` keeps the passages containing any of its words (any case), still in creation order.
        """
        where = _where(tenant, agent_id, tags, match_all_tags)
        match = keyword_match(passages.c.text, query) if query else None
        if match is not None:
            where.append(match[0])
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            cursors = [self._cursor(conn, tenant, agent_id, pid) for pid in (after, before)]
            stmt, reverse = page(
                select(*PASSAGE_COLUMNS).where(*where),
                passages.c.pk,
                after=cursors[0],
                before=cursors[1],
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
        return [passage_from_row(row) for row in rows]

    def count_passages(self, tenant: str, agent_id: str) -> int:
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            stmt = select(func.count()).select_from(passages).where(*_where(tenant, agent_id, None, False))
            return int(conn.execute(stmt).scalar_one())

    def search_passages(
        self,
        tenant: str,
        agent_id: str,
        query: str,
        *,
        tags: Sequence[str] | None = None,
        match_all_tags: bool = False,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10,
    ) -> list[PassageRecord]:
        """Passages containing any word of `query` (any case): most words first, then newest.

        `start` and `end` bound created_at (inclusive). An empty query lists the newest passages.
        """
        check_limit(limit)
        where = _where(tenant, agent_id, tags, match_all_tags)
        if start is not None:
            where.append(passages.c.created_at >= start)
        if end is not None:
            where.append(passages.c.created_at <= end)
        match = keyword_match(passages.c.text, query)
        stmt = select(*PASSAGE_COLUMNS)
        if match is None:
            stmt = stmt.where(*where).order_by(passages.c.pk.desc())
        else:
            hit, score = match
            stmt = stmt.where(*where, hit).order_by(score.desc(), passages.c.pk.desc())
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            rows = conn.execute(stmt.limit(limit)).all()
        return [passage_from_row(row) for row in rows]

    def update_passage(
        self,
        tenant: str,
        agent_id: str,
        passage_id: str,
        *,
        text: str | Unset = UNSET,
        tags: Sequence[str] | Unset = UNSET,
        metadata: dict[str, Any] | Unset = UNSET,
        embedding: list[float] | Unset | None = UNSET,
    ) -> PassageRecord:
        """Change the given fields of one passage."""
        changes = given(text=text, metadata=metadata, embedding=embedding)
        if not isinstance(tags, Unset):
            changes["tags"] = dedupe(tags)
        with self._write() as conn:
            if changes:
                found = conn.execute(
                    update(passages).where(*_one(tenant, agent_id, passage_id)).values(changes)
                )
                missing = found.rowcount != 1
            else:
                missing = (
                    conn.execute(select(passages.c.pk).where(*_one(tenant, agent_id, passage_id))).first()
                    is None
                )
            if missing:
                require_agent(conn, tenant, agent_id)
                raise _not_found(tenant, agent_id, passage_id)
            if "tags" in changes:
                conn.execute(delete(passage_tags).where(passage_tags.c.passage_id == passage_id))
                if changes["tags"]:
                    conn.execute(
                        insert(passage_tags), [{"passage_id": passage_id, "tag": t} for t in changes["tags"]]
                    )
            row = conn.execute(select(*PASSAGE_COLUMNS).where(passages.c.id == passage_id)).one()
        return passage_from_row(row)

    def delete_passage(self, tenant: str, agent_id: str, passage_id: str) -> None:
        """Delete one passage of the agent, or raise PassageNotFoundError."""
        with self._write() as conn:
            found = conn.execute(delete(passages).where(*_one(tenant, agent_id, passage_id)))
            if found.rowcount != 1:
                require_agent(conn, tenant, agent_id)
                raise _not_found(tenant, agent_id, passage_id)

    def _cursor(self, conn: Connection, tenant: str, agent_id: str, passage_id: str | None) -> int | None:
        if passage_id is None:
            return None
        key = cursor_key(conn, passages, "pk", *_one(tenant, agent_id, passage_id))
        if key is None:
            raise _not_found(tenant, agent_id, passage_id)
        return key


def _one(tenant: str, agent_id: str, passage_id: str) -> list[ColumnElement[bool]]:
    return [passages.c.tenant == tenant, passages.c.agent_id == agent_id, passages.c.id == passage_id]


def _where(
    tenant: str, agent_id: str, tags: Sequence[str] | None, match_all_tags: bool
) -> list[ColumnElement[bool]]:
    where = [passages.c.tenant == tenant, passages.c.agent_id == agent_id]
    if tags:
        wanted = dedupe(tags)
        tagged = select(passage_tags.c.passage_id).where(passage_tags.c.tag.in_(wanted))
        if match_all_tags:
            tagged = tagged.group_by(passage_tags.c.passage_id).having(func.count() == len(wanted))
        where.append(passages.c.id.in_(tagged))
    return where


def _not_found(tenant: str, agent_id: str, passage_id: str) -> PassageNotFoundError:
    return PassageNotFoundError(
        f"No archival passage {passage_id!r} for agent {agent_id!r} (tenant {tenant!r}). "
        f"List them with GET /v1/agents/{agent_id}/archival-memory."
    )


def _passage_row(p: PassageRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "tenant": p.tenant,
        "agent_id": p.agent_id,
        "text": p.text,
        "tags": p.tags,
        "metadata": p.metadata,
        "embedding": p.embedding,
        "created_at": p.created_at,
    }


def passage_from_row(row: Row[Any]) -> PassageRecord:
    return to_record(PassageRecord, PASSAGE_FIELDS, row)
