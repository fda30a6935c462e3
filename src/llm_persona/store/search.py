"""Search by words.

`keyword_match`: case-insensitive substring matches, ranked by how many query words match (recall
memory, and archival passages where full text finds nothing). `full_text_words` and the two query
builders below: full text over passages (SQLite FTS5, PostgreSQL tsvector; see migration 0003),
each word also matching as a prefix ("tea" finds "teapot"), ranked by the engine's relevance.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Integer, case, literal, or_

from llm_persona.store.base import like_pattern

_WORD = re.compile(r"\w+")
#: What the full-text tokenizers index as words: letters and digits (an underscore separates).
_TEXT_WORD = re.compile(r"[^\W_]+")


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


def full_text_words(query: str) -> list[str]:
    """The words of `query` as full-text indexes see them, lower-cased, each once."""
    return list(dict.fromkeys(w.lower() for w in _TEXT_WORD.findall(query)))


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression: any of `words`, each as a prefix (words hold no quote)."""
    return " OR ".join(f'"{w}"*' for w in words)


def tsquery(words: list[str]) -> str:
    """A PostgreSQL to_tsquery() expression: any of `words`, each as a prefix."""
    return " | ".join(f"'{w}':*" for w in words)
