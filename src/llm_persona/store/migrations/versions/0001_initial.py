"""Initial schema: agents, blocks, tools, messages, steps, passages, persona versions and labels.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types in tables.py as of this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _pk() -> sa.Column[int]:
    return sa.Column("pk", PK, autoincrement=True, nullable=False)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant", sa.String(), server_default="default", nullable=False)


def _agent_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["agent_id"], ["agents.id"], name=f"fk_{table}_agent_id_agents", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "agents",
        _pk(),
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("system", sa.Text(), nullable=True),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("embedding", sa.String(), nullable=True),
        sa.Column("persona_name", sa.String(), nullable=True),
        sa.Column("persona_version", sa.Integer(), nullable=True),
        sa.Column("persona_label", sa.String(), nullable=True),
        sa.Column("persona_vars", JSON, nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("llm_config", JSON, nullable=False),
        sa.Column("compiled_system", sa.Text(), nullable=True),
        sa.Column("compiled_memory", sa.String(), nullable=True),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("context_start_seq", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_agents"),
        sa.UniqueConstraint("id", name="uq_agents_id"),
    )
    op.create_index("ix_agents_tenant_pk", "agents", ["tenant", "pk"])
    op.create_index("ix_agents_tenant_name", "agents", ["tenant", "name"])
    op.create_index("ix_agents_tenant_persona_name", "agents", ["tenant", "persona_name"])

    op.create_table(
        "agent_tags",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        _agent_fk("agent_tags"),
        sa.PrimaryKeyConstraint("agent_id", "tag", name="pk_agent_tags"),
    )
    op.create_index("ix_agent_tags_tag", "agent_tags", ["tag"])

    op.create_table(
        "blocks",
        _pk(),
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("char_limit", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_blocks"),
        sa.UniqueConstraint("id", name="uq_blocks_id"),
    )
    op.create_index("ix_blocks_tenant_pk", "blocks", ["tenant", "pk"])
    op.create_index("ix_blocks_tenant_label", "blocks", ["tenant", "label"])

    op.create_table(
        "agents_blocks",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("block_id", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _agent_fk("agents_blocks"),
        sa.ForeignKeyConstraint(
            ["block_id"], ["blocks.id"], name="fk_agents_blocks_block_id_blocks", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "block_id", name="pk_agents_blocks"),
        sa.UniqueConstraint("agent_id", "label", name="uq_agents_blocks_agent_id_label"),
    )
    op.create_index("ix_agents_blocks_block_id", "agents_blocks", ["block_id"])

    op.create_table(
        "tools",
        _pk(),
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_code", sa.Text(), nullable=True),
        sa.Column("json_schema", JSON, nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("tool_type", sa.String(), nullable=False),
        sa.Column("return_char_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_tools"),
        sa.UniqueConstraint("id", name="uq_tools_id"),
        sa.UniqueConstraint("tenant", "name", name="uq_tools_tenant_name"),
    )
    op.create_index("ix_tools_tenant_pk", "tools", ["tenant", "pk"])

    op.create_table(
        "agents_tools",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("tool_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _agent_fk("agents_tools"),
        sa.ForeignKeyConstraint(
            ["tool_id"], ["tools.id"], name="fk_agents_tools_tool_id_tools", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "tool_id", name="pk_agents_tools"),
    )
    op.create_index("ix_agents_tools_tool_id", "agents_tools", ["tool_id"])

    op.create_table(
        "steps",
        _pk(),
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("stop_reason", sa.String(), nullable=True),
        sa.Column("persona_name", sa.String(), nullable=True),
        sa.Column("persona_version", sa.Integer(), nullable=True),
        sa.Column("persona_fingerprint", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _agent_fk("steps"),
        sa.PrimaryKeyConstraint("pk", name="pk_steps"),
        sa.UniqueConstraint("id", name="uq_steps_id"),
    )
    op.create_index("ix_steps_agent_id_pk", "steps", ["agent_id", "pk"])

    op.create_table(
        "messages",
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("tool_calls", JSON, nullable=False),
        sa.Column("tool_call_id", sa.String(), nullable=True),
        sa.Column("tool_name", sa.String(), nullable=True),
        sa.Column("tool_status", sa.String(), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("otid", sa.String(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _agent_fk("messages"),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name="fk_messages_step_id_steps", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint("agent_id", "seq", name="uq_messages_agent_id_seq"),
    )
    op.create_index("ix_messages_step_id", "messages", ["step_id"])

    op.create_table(
        "passages",
        _pk(),
        sa.Column("id", sa.String(), nullable=False),
        _tenant(),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("embedding", NULLABLE_JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _agent_fk("passages"),
        sa.PrimaryKeyConstraint("pk", name="pk_passages"),
        sa.UniqueConstraint("id", name="uq_passages_id"),
    )
    op.create_index("ix_passages_agent_id_pk", "passages", ["agent_id", "pk"])

    op.create_table(
        "passage_tags",
        sa.Column("passage_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["passage_id"], ["passages.id"], name="fk_passage_tags_passage_id_passages", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("passage_id", "tag", name="pk_passage_tags"),
    )
    op.create_index("ix_passage_tags_tag", "passage_tags", ["tag"])

    op.create_table(
        "persona_versions",
        _pk(),
        _tenant(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_persona_versions"),
        sa.UniqueConstraint("tenant", "name", "number", name="uq_persona_versions_tenant_name_number"),
        sa.UniqueConstraint(
            "tenant", "name", "fingerprint", name="uq_persona_versions_tenant_name_fingerprint"
        ),
    )

    op.create_table(
        "persona_labels",
        _tenant(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", "label", name="pk_persona_labels"),
    )


def downgrade() -> None:
    for table in (
        "persona_labels",
        "persona_versions",
        "passage_tags",
        "passages",
        "messages",
        "steps",
        "agents_tools",
        "tools",
        "agents_blocks",
        "blocks",
        "agent_tags",
        "agents",
    ):
        op.drop_table(table)  # indexes go with their tables
