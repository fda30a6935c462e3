"""Full-text search of archival passages: an FTS5 index kept by triggers (SQLite), a GIN index on
the passages' tsvector (PostgreSQL).

SQLite: `passages_fts` is an external-content FTS5 table over `passages.text` (rowid = passages.pk),
kept in step by three triggers. A later batch migration that copies `passages` must recreate them.
PostgreSQL: `ix_passages_text_fts` indexes `to_tsvector('simple', text)`; queries use that very
expression. Neither is in `tables.py` (Alembic cannot describe them): `migrate.SEARCH_OBJECTS`.
A SQLite built without FTS5 gets no index; its passages are searched by substring.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE passages_fts USING fts5("
    "text, content='passages', content_rowid='pk', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages BEGIN "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.pk, new.text); END",
    "CREATE TRIGGER passages_fts_delete AFTER DELETE ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.pk, old.text); END",
    "CREATE TRIGGER passages_fts_update AFTER UPDATE OF text ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.pk, old.text); "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.pk, new.text); END",
    "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS passages_fts_update",
    "DROP TRIGGER IF EXISTS passages_fts_delete",
    "DROP TRIGGER IF EXISTS passages_fts_insert",
    "DROP TABLE IF EXISTS passages_fts",
]
_POSTGRES_UP = [
    "CREATE INDEX ix_passages_text_fts ON passages USING gin (to_tsvector('simple'::regconfig, text))"
]
_POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_passages_text_fts"]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def _sqlite_has_fts5() -> bool:
    options = op.get_bind().exec_driver_sql("PRAGMA compile_options").scalars().all()
    return "ENABLE_FTS5" in options


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and not _sqlite_has_fts5():
        return  # a SQLite built without FTS5: passages are searched by substring
    _run({"sqlite": _SQLITE_UP, "postgresql": _POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": _SQLITE_DOWN, "postgresql": _POSTGRES_DOWN})
