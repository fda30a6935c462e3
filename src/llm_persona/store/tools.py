"""Tools: CRUD (names unique per tenant), upsert by name, and attaching them to agents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from llm_persona.errors import ConflictError
from llm_persona.store.agents import load_agent, require_agent
from llm_persona.store.base import (
    UNSET,
    StoreBase,
    Unset,
    cursor_key,
    dedupe,
    fetch_page,
    given,
    page,
    record_columns,
    to_record,
    tool_not_found,
)
from llm_persona.store.records import AgentRecord, ToolRecord, utcnow
from llm_persona.store.tables import agents_tools, tools

TOOL_FIELDS, TOOL_COLUMNS = record_columns(ToolRecord, tools)
_AGENT_TOOLS = (
    select(*TOOL_COLUMNS)
    .join(agents_tools, agents_tools.c.tool_id == tools.c.id)
    .where(agents_tools.c.agent_id == bindparam("agent_id"))
    .order_by(agents_tools.c.position)
)


class ToolsRepo(StoreBase):
    """Tools of a tenant, and their attachments to agents."""

    def create_tool(self, tenant: str, tool: ToolRecord) -> ToolRecord:
        """Insert `tool` (stamped with `tenant`); ConflictError if its name is taken."""
        with self._write() as conn:
            taken = _tool_id_by_name(conn, tenant, tool.name)
            if taken is not None:
                raise ConflictError(
                    f"A tool named {tool.name!r} already exists ({taken}, tenant {tenant!r}). "
                    f"Update it (PATCH /v1/tools/{taken}, or upsert it by name), or pick another name."
                )
            _insert_tool(conn, tenant, tool)
            return _load_tool(conn, tenant, tool.id)

    def upsert_tool(self, tenant: str, tool: ToolRecord) -> ToolRecord:
        """Create the tool, or update the tool of that name in place (keeping its id).

        Safe when several callers upsert one name at once (agents created together on a fresh
        database all upsert the built-in tools): the insert skips a name taken meanwhile.
        """
        values = _tool_values(tenant, tool)
        with self._write() as conn:
            insert_new = self._insert_or_skip(tools, values, unique=("tenant", "name"))
            if conn.execute(insert_new).rowcount == 1:
                return _load_tool(conn, tenant, tool.id)
            stmt = select(*TOOL_COLUMNS).where(tools.c.tenant == tenant, tools.c.name == tool.name)
            row = conn.execute(self._for_update(stmt)).first()
            if row is None:  # deleted since the insert skipped it
                raise tool_not_found(tenant, tool.name)
            old = tool_from_row(row)
            changes = {k: values[k] for k in _UPSERTED if values[k] != getattr(old, k)}
            if not changes:
                return old
            conn.execute(update(tools).where(tools.c.id == old.id).values(updated_at=utcnow(), **changes))
            return _load_tool(conn, tenant, old.id)

    def get_tool(self, tenant: str, tool_id: str) -> ToolRecord:
        """The tool, or ToolNotFoundError."""
        with self._read() as conn:
            return _load_tool(conn, tenant, tool_id)

    def get_tool_by_name(self, tenant: str, name: str) -> ToolRecord:
        """The tool called `name`, or ToolNotFoundError."""
        with self._read() as conn:
            row = conn.execute(
                select(*TOOL_COLUMNS).where(tools.c.tenant == tenant, tools.c.name == name)
            ).first()
        if row is None:
            raise tool_not_found(tenant, name)
        return tool_from_row(row)

    def list_tools(
        self,
        tenant: str,
        *,
        name: str | None = None,
        tool_type: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: str = "asc",
    ) -> list[ToolRecord]:
        """Tools in creation order; `after`/`before` are tool ids (see `base.page`)."""
        where = [tools.c.tenant == tenant]
        if name is not None:
            where.append(tools.c.name == name)
        if tool_type is not None:
            where.append(tools.c.tool_type == tool_type)
        with self._read() as conn:
            stmt, reverse = page(
                select(*TOOL_COLUMNS).where(*where),
                tools.c.pk,
                after=self._tool_cursor(conn, tenant, after),
                before=self._tool_cursor(conn, tenant, before),
                limit=limit,
                order=order,
            )
            rows = fetch_page(conn, stmt, reverse)
        return [tool_from_row(row) for row in rows]

    def count_tools(self, tenant: str) -> int:
        with self._read() as conn:
            stmt = select(func.count()).select_from(tools).where(tools.c.tenant == tenant)
            return int(conn.execute(stmt).scalar_one())

    def update_tool(
        self,
        tenant: str,
        tool_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        source_code: str | Unset | None = UNSET,
        json_schema: dict[str, Any] | Unset = UNSET,
        tags: Sequence[str] | Unset = UNSET,
        tool_type: str | Unset = UNSET,
        return_char_limit: int | Unset = UNSET,
    ) -> ToolRecord:
        """Change the given fields; ConflictError if the new name is taken."""
        changes = given(
            name=name,
            description=description,
            source_code=source_code,
            json_schema=json_schema,
            tool_type=tool_type,
            return_char_limit=return_char_limit,
        )
        if not isinstance(tags, Unset):
            changes["tags"] = dedupe(tags)
        with self._write() as conn:
            if isinstance(name, str):
                taken = _tool_id_by_name(conn, tenant, name)
                if taken is not None and taken != tool_id:
                    raise ConflictError(
                        f"Cannot rename tool {tool_id!r} to {name!r}: tool {taken!r} has that name "
                        f"(tenant {tenant!r}). Pick another name."
                    )
            found = conn.execute(
                update(tools)
                .where(tools.c.tenant == tenant, tools.c.id == tool_id)
                .values(updated_at=utcnow(), **changes)
            )
            if found.rowcount != 1:
                raise tool_not_found(tenant, tool_id)
            return _load_tool(conn, tenant, tool_id)

    def delete_tool(self, tenant: str, tool_id: str) -> None:
        """Delete the tool; agents holding it lose it."""
        with self._write() as conn:
            found = conn.execute(delete(tools).where(tools.c.tenant == tenant, tools.c.id == tool_id))
            if found.rowcount != 1:
                raise tool_not_found(tenant, tool_id)

    def attach_tool(self, tenant: str, agent_id: str, tool_id: str) -> AgentRecord:
        """Give the agent the tool, after its others; a no-op if it already has it."""
        with self._write() as conn:
            self._lock_agent(conn, tenant, agent_id)
            if not _tool_exists(conn, tenant, tool_id):
                raise tool_not_found(tenant, tool_id)
            held = conn.execute(
                select(agents_tools.c.position).where(
                    agents_tools.c.agent_id == agent_id, agents_tools.c.tool_id == tool_id
                )
            ).first()
            if held is None:
                position = conn.execute(
                    select(func.coalesce(func.max(agents_tools.c.position) + 1, 0)).where(
                        agents_tools.c.agent_id == agent_id
                    )
                ).scalar_one()
                conn.execute(
                    insert(agents_tools).values(agent_id=agent_id, tool_id=tool_id, position=position)
                )
            return load_agent(conn, tenant, agent_id)

    def detach_tool(self, tenant: str, agent_id: str, tool_id: str) -> AgentRecord:
        """Take the tool from the agent (the tool itself stays); a no-op if the agent lacks it."""
        with self._write() as conn:
            self._lock_agent(conn, tenant, agent_id)
            if not _tool_exists(conn, tenant, tool_id):
                raise tool_not_found(tenant, tool_id)
            conn.execute(
                delete(agents_tools).where(
                    agents_tools.c.agent_id == agent_id, agents_tools.c.tool_id == tool_id
                )
            )
            return load_agent(conn, tenant, agent_id)

    def agent_tools(self, tenant: str, agent_id: str) -> list[ToolRecord]:
        """The agent's tools, in schema order."""
        with self._read() as conn:
            require_agent(conn, tenant, agent_id)
            return read_agent_tools(conn, agent_id)

    def _tool_cursor(self, conn: Connection, tenant: str, tool_id: str | None) -> int | None:
        if tool_id is None:
            return None
        key = cursor_key(conn, tools, "pk", tools.c.tenant == tenant, tools.c.id == tool_id)
        if key is None:
            raise tool_not_found(tenant, tool_id)
        return key


#: What upsert_tool changes in a tool that exists.
_UPSERTED = ("description", "source_code", "json_schema", "tags", "tool_type", "return_char_limit")


def _tool_values(tenant: str, tool: ToolRecord) -> dict[str, Any]:
    return {
        "id": tool.id,
        "tenant": tenant,
        "name": tool.name,
        "description": tool.description,
        "source_code": tool.source_code,
        "json_schema": tool.json_schema,
        "tags": dedupe(tool.tags),
        "tool_type": tool.tool_type,
        "return_char_limit": tool.return_char_limit,
        "created_at": tool.created_at,
        "updated_at": tool.created_at,
    }


def _insert_tool(conn: Connection, tenant: str, tool: ToolRecord) -> None:
    conn.execute(insert(tools).values(_tool_values(tenant, tool)))


def _tool_id_by_name(conn: Connection, tenant: str, name: str) -> str | None:
    stmt = select(tools.c.id).where(tools.c.tenant == tenant, tools.c.name == name)
    return conn.execute(stmt).scalar_one_or_none()


def _tool_exists(conn: Connection, tenant: str, tool_id: str) -> bool:
    stmt = select(tools.c.pk).where(tools.c.tenant == tenant, tools.c.id == tool_id)
    return conn.execute(stmt).first() is not None


def _load_tool(conn: Connection, tenant: str, tool_id: str) -> ToolRecord:
    row = conn.execute(select(*TOOL_COLUMNS).where(tools.c.tenant == tenant, tools.c.id == tool_id)).first()
    if row is None:
        raise tool_not_found(tenant, tool_id)
    return tool_from_row(row)


def read_agent_tools(conn: Connection, agent_id: str) -> list[ToolRecord]:
    """The agent's tools, in schema order."""
    return [tool_from_row(row) for row in conn.execute(_AGENT_TOOLS, {"agent_id": agent_id})]


def tool_from_row(row: Row[Any]) -> ToolRecord:
    return to_record(ToolRecord, TOOL_FIELDS, row)
