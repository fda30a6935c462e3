"""Alembic, run from inside the package: no alembic.ini, the migrations ship in `store/migrations/`.

Opening a store checks the schema version with one query and imports Alembic only when there is
something to migrate, so a start on an up-to-date database stays fast.

A new migration: change `tables.py`, then let Alembic draft it against a database at the head,

    from alembic import command
    from llm_persona.store.migrate import alembic_config, upgrade
    upgrade("sqlite:////tmp/draft.db")
    command.revision(alembic_config(url="sqlite:////tmp/draft.db"), "what changed", autogenerate=True, rev_id="0002")

tidy the draft (no imports from the package: a migration is a frozen snapshot), set HEAD_REVISION,
and run tests/store/test_migrations.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from llm_persona.store.engine import WRITE_OPTION, create_store_engine, resolve_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration in `migrations/versions/`; a test keeps the two in step.
HEAD_REVISION = "0004"
#: Search indexes that migrations create outside `tables.py` (Alembic cannot describe them): the
#: SQLite FTS5 table of passages with its shadow tables, the PostgreSQL tsvector index, and the
#: pgvector copy of embeddings (only where the server has pgvector).
SEARCH_OBJECTS = frozenset(
    {
        "passages_fts",
        *(f"passages_fts_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")),
        "ix_passages_text_fts",
        "embedding_vector",
    }
)
#: pg_advisory_xact_lock key that makes concurrent upgrades of one database take turns.
_MIGRATION_LOCK = 0x6C6C6D2D70657273  # "llm-pers"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for the shipped migrations, bound to `connection` (or to `url`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: compare everything but the `SEARCH_OBJECTS`."""
    return name not in SEARCH_OBJECTS


def head_revision() -> str:
    """The newest migration shipped with this version of llm-persona."""
    return HEAD_REVISION


def database_revision(conn: Connection) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    return None if version is None else str(version)


def current_revision(engine: Engine) -> str | None:
    """The migration the database behind `engine` is at, or None for an empty database."""
    with engine.connect() as conn:
        return database_revision(conn)


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`, in one transaction; concurrent callers queue."""
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        target = HEAD_REVISION if revision == "head" else revision
        if database_revision(conn) == target:
            return
        from alembic import command

        command.upgrade(alembic_config(conn), revision)


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Migrate the database at `url` (default: as `Store.open` resolves it); return its revision.

    This is `llm-persona db upgrade`. `Store.open` does the same on every start.
    """
    engine = create_store_engine(resolve_url(url))
    try:
        upgrade_engine(engine, revision)
        return current_revision(engine)
    finally:
        engine.dispose()
