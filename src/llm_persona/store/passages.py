"""Archival memory: an agent's passages, listed by creation, filtered by tags, searched by words.

Search by words is full text (see `store/search.py`): SQLite FTS5, PostgreSQL tsvector, both
ranked by the engine's relevance, then newest. Where full text finds nothing (a part of a word, a
script written without spaces), passages containing the query's words as substrings are the answer.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    text,
    update,
)

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
from llm_persona.store.search import fts5_query, full_text_words, keyword_match, tsquery
from llm_persona.store.tables import passage_tags, passages

PASSAGE_FIELDS, PASSAGE_COLUMNS = record_columns(PassageRecord, passages)

#: The SQLite FTS5 index of passages (migration 0003): rowid is passages.pk; `rank` is bm25.
_FTS = table("passages_fts", column("rowid"), column("rank"))
_FTS_MATCH: ColumnElement[Any] = literal_column("passages_fts")
_SQLITE_HAS_FTS = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'passages_fts'")
#: pgvector (migration 0004, where the server has it): cosine distance to the query, same size only.
_PG_DISTANCE = text("passages.embedding_vector <=> CAST(:query_vector AS vector)")
_PG_SAME_SIZE = text(
    "passages.embedding_vector IS NOT NULL AND vector_dims(passages.embedding_vector) = :dims"
)
_PG_HAS_VECTORS = text(
    "SELECT to_regtype('vector') IS NOT NULL AND EXISTS (SELECT 1 FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = 'passages' AND column_name = 'embedding_vector')"
)
#: How many candidates each ranking (words, meaning) offers to the fusion of a hybrid search.
HYBRID_POOL = 50
#: The constant of reciprocal rank fusion (the usual 60).
RRF_K = 60
#: Words of a query that count for full text search; more are ignored.
MAX_QUERY_WORDS = 16
#: The PostgreSQL text search configuration; the GIN index of migration 0003 is on this expression.
_PG_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


class PassagesRepo(StoreBase):
    """Archival passages of an agent."""

    _pgvector: bool | None = None
    _fts5: bool | None = None

    def insert_passages(
        self, tenant: str, agent_id: str, new: Sequence[PassageRecord]
    ) -> list[PassageRecord]:
        """Insert passages for the agent (stamped with tenant and agent id), in one transaction."""
        stored = [replace(p, tenant=tenant, agent_id=agent_id, tags=dedupe(p.tags)) for p in new]
        with self._write() as conn:
            require_agent(conn, tenant, agent_id)
            write_passages(conn, stored)
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
        embedding: Sequence[float] | None = None,
    ) -> list[PassageRecord]:
        """Passages matching words of `query` (any case; each word also as a prefix), the most relevant
        first, then the newest; by substring (most words first) if no word matches as a word.

        With `embedding` (the query's vector), passages are ranked by meaning too: cosine similarity
        to their embeddings (see `_by_meaning`; exact, no approximate index). The two rankings are
        fused by reciprocal rank, as Letta does, so a passage close in meaning is found without
        sharing a word. Passages without an embedding (or of another size) are found by words only.

        `start` and `end` bound created_at (inclusive). An empty query lists the newest passages.
        """
        check_limit(limit)
        where = _where(tenant, agent_id, tags, match_all_tags)
        if start is not None:
            where.append(passages.c.created_at >= start)
        if end is not None:
            where.append(passages.c.created_at <= end)
        base = select(*PASSAGE_COLUMNS).where(*where)
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            if embedding is None:
                rows = self._by_words(conn, base, query, limit)
            else:
                pool = max(limit, HYBRID_POOL)
                by_words = self._by_words(conn, base, query, pool) if query.strip() else []
                by_meaning = self._by_meaning(conn, base, embedding, pool)
                rows = _fuse([by_words, by_meaning], limit)
        return [passage_from_row(row) for row in rows]

    def _by_meaning(
        self, conn: Connection, base: Select[Any], embedding: Sequence[float], limit: int
    ) -> Sequence[Row[Any]]:
        """The passages closest to `embedding` by cosine: compared by pgvector where the database
        has it (migration 0004), else here over their JSON embeddings."""
        if not self._has_pgvector(conn):
            embedded = base.where(passages.c.embedding.is_not(None)).order_by(passages.c.pk.desc())
            return _nearest(conn.execute(embedded), embedding, limit)
        if not any(embedding):
            return []
        literal_vector = "[" + ",".join(repr(float(x)) for x in embedding) + "]"
        nearest = (
            base.where(_PG_SAME_SIZE.bindparams(dims=len(embedding)))
            .order_by(_PG_DISTANCE.bindparams(query_vector=literal_vector), passages.c.pk.desc())
            .limit(limit)
        )
        return conn.execute(nearest).all()

    def _has_full_text(self, conn: Connection) -> bool:
        """Whether passages have a full-text index (not on a SQLite without FTS5; checked once)."""
        if self._fts5 is None:
            self._fts5 = self.dialect != "sqlite" or conn.execute(_SQLITE_HAS_FTS).first() is not None
        return self._fts5

    def _has_pgvector(self, conn: Connection) -> bool:
        """Whether passages have the pgvector copy of their embeddings (checked once per store)."""
        if self.dialect != "postgresql":
            return False
        if self._pgvector is None:
            self._pgvector = bool(conn.execute(_PG_HAS_VECTORS).scalar())
        return self._pgvector

    def _by_words(self, conn: Connection, base: Select[Any], query: str, limit: int) -> Sequence[Row[Any]]:
        match = keyword_match(passages.c.text, query)
        if match is None:  # an empty query: the newest
            return conn.execute(base.order_by(passages.c.pk.desc()).limit(limit)).all()
        words = full_text_words(query) if self._has_full_text(conn) else []
        rows = conn.execute(self._full_text(base, words).limit(limit)).all() if words else []
        if not rows:
            hit, score = match
            rows = conn.execute(
                base.where(hit).order_by(score.desc(), passages.c.pk.desc()).limit(limit)
            ).all()
        return rows

    def _full_text(self, stmt: Select[Any], words: list[str]) -> Select[Any]:
        """`stmt` kept to passages matching any of `words` in full text: those matching the most
        words first, then the most relevant (bm25, ts_rank), then the newest."""
        words = words[:MAX_QUERY_WORDS]
        if self.dialect == "postgresql":
            vector = func.to_tsvector(_PG_CONFIG, passages.c.text)
            wanted = func.to_tsquery(_PG_CONFIG, tsquery(words))
            hits = [vector.op("@@")(func.to_tsquery(_PG_CONFIG, tsquery([w]))) for w in words]
            return stmt.where(vector.op("@@")(wanted)).order_by(
                _count(hits).desc(), func.ts_rank(vector, wanted).desc(), passages.c.pk.desc()
            )
        found = select(_FTS.c.rowid, _FTS.c.rank).where(_FTS_MATCH.op("MATCH")(fts5_query(words))).subquery()
        hits = [
            passages.c.pk.in_(select(_FTS.c.rowid).where(_FTS_MATCH.op("MATCH")(fts5_query([w]))))
            for w in words
        ]
        return stmt.join(found, found.c.rowid == passages.c.pk).order_by(
            _count(hits).desc(), found.c.rank, passages.c.pk.desc()
        )

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


def write_passages(conn: Connection, stored: Sequence[PassageRecord]) -> None:
    """Insert passages already stamped with tenant and agent id (and deduplicated tags)."""
    if stored:
        conn.execute(insert(passages), [_passage_row(p) for p in stored])
        tag_rows = [{"passage_id": p.id, "tag": tag} for p in stored for tag in p.tags]
        if tag_rows:
            conn.execute(insert(passage_tags), tag_rows)


def _nearest(rows: Iterable[Row[Any]], embedding: Sequence[float], k: int) -> list[Row[Any]]:
    """The `k` rows whose embedding is closest to `embedding` by cosine; ties keep the rows' order."""
    query = list(embedding)
    query_norm = math.sqrt(sum(x * x for x in query))
    scored: list[tuple[float, Row[Any]]] = []
    for row in rows:
        vector = row.embedding
        if query_norm == 0 or not isinstance(vector, list) or len(vector) != len(query):
            continue
        norm = math.sqrt(sum(x * x for x in vector))
        if norm:
            scored.append((sum(a * b for a, b in zip(query, vector, strict=True)) / (norm * query_norm), row))
    return [row for _, row in heapq.nlargest(k, scored, key=lambda pair: pair[0])]


def _fuse(rankings: Sequence[Sequence[Row[Any]]], limit: int) -> list[Row[Any]]:
    """Reciprocal rank fusion: each ranking gives a row 1 / (RRF_K + its rank); the highest sums first,
    ties in the order the rankings first name them."""
    scores: dict[str, float] = {}
    found: dict[str, Row[Any]] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row.id] = scores.get(row.id, 0.0) + 1.0 / (RRF_K + rank)
            found.setdefault(row.id, row)
    ranked = sorted(scores, key=lambda passage_id: -scores[passage_id])
    return [found[passage_id] for passage_id in ranked[:limit]]


def _count(conditions: Sequence[ColumnElement[Any]]) -> ColumnElement[int]:
    """How many of `conditions` hold."""
    total: ColumnElement[int] = literal(0, Integer)
    for condition in conditions:
        total = total + case((condition, 1), else_=0)
    return total


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
