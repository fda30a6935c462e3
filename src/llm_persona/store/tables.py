"""The schema, as SQLAlchemy Core tables; Alembic migrations must produce exactly this.

Conventions: tenant-owned rows carry `tenant`; rows listed in creation order carry an integer `pk`
(monotonic, so ties are impossible) beside their public string `id`; associations cascade with the
agent, so deleting an agent removes its history and detaches (never deletes) its blocks and tools.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: JSON everywhere, JSONB on PostgreSQL.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
#: Like JSONType, but Python None is SQL NULL (not the JSON value null).
NullableJSONType: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
#: A 64-bit autoincrementing key; INTEGER on SQLite so it aliases the rowid.
PKType: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _pk() -> Column[int]:
    return Column("pk", PKType, primary_key=True, autoincrement=True)


def _tenant() -> Column[str]:
    return Column("tenant", String, nullable=False, server_default="default")


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime, nullable=False)


def _updated() -> Column[datetime]:
    return Column("updated_at", UTCDateTime, nullable=False)


def _agent_fk(nullable: bool = False) -> Column[str]:
    return Column("agent_id", String, ForeignKey("agents.id", ondelete="CASCADE"), nullable=nullable)


agents = Table(
    "agents",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    Column("name", String, nullable=False),
    Column("description", Text),
    Column("system", Text),
    Column("model", String, nullable=False),
    Column("embedding", String),
    Column("persona_name", String),
    Column("persona_version", Integer),
    Column("persona_label", String),
    Column("persona_vars", JSONType, nullable=False),
    Column("tags", JSONType, nullable=False),
    Column("metadata", JSONType, nullable=False),
    Column("llm_config", JSONType, nullable=False),
    Column("compiled_system", Text),
    Column("compiled_memory", String),  # the memory key compiled_system was saved against
    Column("last_seq", Integer, nullable=False, server_default="0"),
    Column("context_start_seq", Integer, nullable=False, server_default="1"),
    _created(),
    _updated(),
    Index(None, "tenant", "pk"),
    Index(None, "tenant", "name"),
    Index(None, "tenant", "persona_name"),
)

agent_tags = Table(
    "agent_tags",
    metadata,
    _agent_fk(),
    Column("tag", String, nullable=False),
    PrimaryKeyConstraint("agent_id", "tag"),
    Index(None, "tag"),
)

blocks = Table(
    "blocks",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    Column("label", String, nullable=False),
    Column("value", Text, nullable=False),
    Column("char_limit", Integer, nullable=False),
    Column("description", Text),
    Column("read_only", Boolean, nullable=False),
    Column("metadata", JSONType, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    _created(),
    _updated(),
    Index(None, "tenant", "pk"),
    Index(None, "tenant", "label"),
)

agents_blocks = Table(
    "agents_blocks",
    metadata,
    _agent_fk(),
    Column("block_id", String, ForeignKey("blocks.id", ondelete="CASCADE"), nullable=False),
    # The block's label, copied so that an agent can never hold two blocks with one label.
    Column("label", String, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("agent_id", "block_id"),
    UniqueConstraint("agent_id", "label"),
    Index(None, "block_id"),
)

tools = Table(
    "tools",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    Column("name", String, nullable=False),
    Column("description", Text),
    Column("source_code", Text),
    Column("json_schema", JSONType, nullable=False),
    Column("tags", JSONType, nullable=False),
    Column("tool_type", String, nullable=False),
    Column("return_char_limit", Integer, nullable=False),
    _created(),
    _updated(),
    UniqueConstraint("tenant", "name"),
    Index(None, "tenant", "pk"),
)

agents_tools = Table(
    "agents_tools",
    metadata,
    _agent_fk(),
    Column("tool_id", String, ForeignKey("tools.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("agent_id", "tool_id"),
    Index(None, "tool_id"),
)

steps = Table(
    "steps",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    _agent_fk(),
    Column("model", String, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_input_tokens", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("stop_reason", String),
    Column("persona_name", String),
    Column("persona_version", Integer),
    Column("persona_fingerprint", String),
    Column("error", Text),
    _created(),
    Index(None, "agent_id", "pk"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String, primary_key=True),
    _tenant(),
    _agent_fk(),
    Column("seq", Integer, nullable=False),
    Column("step_id", String, ForeignKey("steps.id", ondelete="SET NULL")),
    Column("role", String, nullable=False),
    Column("content", Text),
    Column("tool_calls", JSONType, nullable=False),
    Column("tool_call_id", String),
    Column("tool_name", String),
    Column("tool_status", String),
    Column("reasoning", Text),
    Column("otid", String),
    _created(),
    UniqueConstraint("agent_id", "seq"),
    Index(None, "step_id"),
)

passages = Table(
    "passages",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    _agent_fk(),
    Column("text", Text, nullable=False),
    Column("tags", JSONType, nullable=False),
    Column("metadata", JSONType, nullable=False),
    Column("embedding", NullableJSONType),  # list[float]; a vector column replaces it when pgvector arrives
    _created(),
    Index(None, "agent_id", "pk"),
)

passage_tags = Table(
    "passage_tags",
    metadata,
    Column("passage_id", String, ForeignKey("passages.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String, nullable=False),
    PrimaryKeyConstraint("passage_id", "tag"),
    Index(None, "tag"),
)

persona_versions = Table(
    "persona_versions",
    metadata,
    _pk(),
    _tenant(),
    Column("name", String, nullable=False),
    Column("number", Integer, nullable=False),
    Column("fingerprint", String, nullable=False),
    Column("content", JSONType, nullable=False),
    _created(),
    UniqueConstraint("tenant", "name", "number"),
    UniqueConstraint("tenant", "name", "fingerprint"),
)

persona_labels = Table(
    "persona_labels",
    metadata,
    _tenant(),
    Column("name", String, nullable=False),
    Column("label", String, nullable=False),
    Column("number", Integer, nullable=False),
    _updated(),
    PrimaryKeyConstraint("tenant", "name", "label"),
)

# API keys are not tenant data but what maps a caller to a tenant: only the key's hash is kept.
api_keys = Table(
    "api_keys",
    metadata,
    _pk(),
    Column("id", String, nullable=False, unique=True),
    _tenant(),
    Column("name", String),
    Column("key_hash", String, nullable=False, unique=True),  # sha256 hex of the whole key
    _created(),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)
