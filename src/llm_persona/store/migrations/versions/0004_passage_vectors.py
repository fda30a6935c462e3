"""Search by meaning in PostgreSQL with pgvector, where the server has it: a `vector` copy of each
passage's embedding, kept by a trigger, compared in the database.

Only on PostgreSQL whose server offers the `vector` extension and lets this user create it; anywhere
else this migration changes nothing and search by meaning runs in Python over the JSON embeddings.
`passages.embedding` (JSON) stays the source of truth: the trigger copies it into
`passages.embedding_vector` on every insert and on every change of the embedding. The column has no
fixed size (embedding models differ), so there is no approximate index: pgvector compares exactly.
Not in `tables.py` (it exists on some servers only): `migrate.SEARCH_OBJECTS`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_UP = [
    "ALTER TABLE passages ADD COLUMN embedding_vector vector",
    """
    CREATE FUNCTION passages_embedding_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.embedding IS NOT NULL AND jsonb_typeof(NEW.embedding) = 'array'
                AND jsonb_array_length(NEW.embedding) > 0 THEN
            NEW.embedding_vector := NEW.embedding::text::vector;
        ELSE
            NEW.embedding_vector := NULL;
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER passages_embedding_vector BEFORE INSERT OR UPDATE OF embedding ON passages "
    "FOR EACH ROW EXECUTE FUNCTION passages_embedding_vector()",
    "UPDATE passages SET embedding = embedding WHERE embedding IS NOT NULL",  # fills the copies
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    offered = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
    if bind.execute(sa.text(offered)).first() is None:
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError:  # not allowed to (not a superuser, an untrusted extension)
        return
    if bind.execute(sa.text("SELECT to_regtype('vector')")).scalar() is None:
        return  # installed in a schema this connection does not search
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS passages_embedding_vector ON passages")
    op.execute("DROP FUNCTION IF EXISTS passages_embedding_vector()")
    op.execute("ALTER TABLE passages DROP COLUMN IF EXISTS embedding_vector")
