"""Keyword search for now: case-insensitive substring matches, ranked by how many query words match.

Full text (SQLite FTS5, PostgreSQL tsvector) and vectors replace this later behind the same methods.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Integer, case, literal, or_

from llm_persona.store.base import like_pattern

_WORD = re.compile(r"\w+")


def keywords(query: str) -> list[str]:
    """The words of `query`, lower-cased, each once; the whole stripped query if it has no word."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    if words:
        return words
    stripped = query.strip()
    return [stripped] if stripped else []


def keyword_match(
    column: ColumnElement[str], query: str
) -> tuple[ColumnElement[bool], ColumnElement[int]] | None:
    """A filter (any word matches) and a score (how many words match) for `query`, or None if it is empty."""
    words = keywords(query)
    if not words:
        return None
    hits: list[ColumnElement[bool]] = [column.ilike(like_pattern(w), escape="\\") for w in words]
    score: ColumnElement[int] = literal(0, Integer)
    for hit in hits:
        score = score + case((hit, 1), else_=0)
    return or_(*hits), score
