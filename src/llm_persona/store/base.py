"""What every repository shares: short transactions, error translation, cursors and not-found messages."""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Insert, Row, Select, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from llm_persona.errors import (
    AgentNotFoundError,
    BlockNotFoundError,
    ConflictError,
    LLMPersonaError,
    StoreError,
    ToolNotFoundError,
)
from llm_persona.store.engine import WRITE_OPTION, is_memory, sqlite_busy_timeout_ms
from llm_persona.store.errors import UnstorableValueError
from llm_persona.store.fifo import FifoLock, writer_lock
from llm_persona.store.tables import agents

T = TypeVar("T", bound=tuple[Any, ...])
R = TypeVar("R")


class StoreBase:
    """An engine plus the transaction helpers the repositories use."""

    def __init__(self, engine: Engine, *, serialise: bool = False) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        # In-memory SQLite shares one connection between threads: one transaction at a time.
        self._mutex: AbstractContextManager[Any] = threading.RLock() if serialise else nullcontext()
        # A SQLite file: this process's writers queue in order (see store/fifo.py).
        self._queue: FifoLock | None = None
        if self.dialect == "sqlite" and not is_memory(engine.url) and engine.url.database:
            self._queue = writer_lock(engine.url.database)
            self._queue_timeout = sqlite_busy_timeout_ms(engine.url) / 1000

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A short read-only transaction (one snapshot on SQLite)."""
        with self._translate(), self._mutex, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A short write transaction: commits on success, rolls everything back on any error."""
        with self._translate(), self._mutex, self._queued(), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _queued(self) -> Iterator[None]:
        """Wait for this process's earlier writers to the SQLite file (nothing on PostgreSQL)."""
        if self._queue is None:
            yield
            return
        if not self._queue.acquire(self._queue_timeout):
            raise StoreError(_locked(self.engine.url.render_as_string(hide_password=True)))
        try:
            yield
        finally:
            self._queue.release()

    def _for_update(self, stmt: Select[T]) -> Select[T]:
        """Lock the selected rows until commit (PostgreSQL; SQLite writers are serialised anyway)."""
        return stmt.with_for_update() if self.dialect == "postgresql" else stmt

    def _insert_or_skip(self, table: Table, values: Mapping[str, Any], *, unique: Sequence[str]) -> Insert:
        """An INSERT that does nothing (rowcount 0) if a row with the same `unique` columns exists,
        even one inserted by a transaction still running: no IntegrityError from a race."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=list(unique))
        return sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=list(unique))

    def _lock_agent(self, conn: Connection, tenant: str, agent_id: str) -> None:
        """Lock the agent's row until commit, or raise AgentNotFoundError."""
        stmt = select(agents.c.pk).where(agents.c.tenant == tenant, agents.c.id == agent_id)
        if conn.execute(self._for_update(stmt)).first() is None:
            raise agent_not_found(tenant, agent_id)

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except LLMPersonaError:
            raise
        except IntegrityError as exc:
            raise ConflictError(
                f"The database refused the change: {_first_line(exc.orig)}. "
                "An id or name that must be unique is taken, or a referenced row is gone; "
                "re-read the objects and try again."
            ) from exc
        except DataError as exc:  # PostgreSQL: an integer out of range, a NUL character in text
            raise _unstorable(exc.orig) from exc
        except DBAPIError as exc:
            raise StoreError(
                _database_error(self.engine.url.render_as_string(hide_password=True), exc)
            ) from exc
        except (OverflowError, StatementError) as exc:  # SQLite: an integer over 64 bits; a date past 9999
            cause = exc.orig if isinstance(exc, StatementError) else exc
            if not isinstance(cause, OverflowError):
                raise
            raise _unstorable(cause) from exc


def _unstorable(error: BaseException | None) -> UnstorableValueError:
    return UnstorableValueError(
        f"The database cannot store a value it was given ({_first_line(error)}). Integers go up to "
        "2147483647, dates up to year 9999 (UTC), and text cannot hold NUL characters; nothing was written."
    )


def _database_error(url: str, exc: DBAPIError) -> str:
    """What went wrong and what to do; the transaction was rolled back, so nothing was changed."""
    first = _first_line(exc.orig)
    lowered = first.lower()
    if "database is locked" in lowered or "database table is locked" in lowered:
        return _locked(url)
    if "disk is full" in lowered or "no space left on device" in lowered:
        return (
            f"The database {url} cannot grow ({first}): the disk, or the database's size limit, is "
            "full. Nothing was changed; free disk space, then retry."
        )
    return (
        f"Database error on {url}: {first}. Check that the database is reachable "
        "and migrated (`llm-persona db upgrade`), then retry."
    )


def _locked(url: str) -> str:
    return (
        f"The database {url} is locked: another connection held its write lock for longer than "
        "this one waits. Nothing was changed; retry. If it keeps happening, look for a long "
        "transaction or a backup holding the lock, or wait longer with ?timeout=SECONDS in the URL."
    )


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "unknown error"


def check_order(order: str) -> bool:
    """True for ascending; a clear error for anything but "asc" or "desc"."""
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}.")
    return order == "asc"


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}.")


def page(
    stmt: Select[T],
    key: ColumnElement[int],
    *,
    after: int | None,
    before: int | None,
    limit: int | None,
    order: str,
) -> tuple[Select[T], bool]:
    """Apply cursor paging to `stmt` ordered by the unique, monotonic `key`.

    `after` and `before` are key values, exclusive, meant in the listing order: with order="desc",
    `after=k` lists keys below k. With only `before` and a limit, the `limit` items nearest the
    cursor are kept (the previous page). Returns the statement and whether the caller must
    reverse the fetched rows to restore the listing order.
    """
    ascending = check_order(order)
    check_limit(limit)
    if after is not None:
        stmt = stmt.where(key > after if ascending else key < after)
    if before is not None:
        stmt = stmt.where(key < before if ascending else key > before)
    reverse = before is not None and after is None and limit is not None
    stmt = stmt.order_by(key.asc() if ascending != reverse else key.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt, reverse


def fetch_page(conn: Connection, stmt: Select[T], reverse: bool) -> list[Row[Any]]:
    """Run a statement from `page` and return its rows in the listing order."""
    rows: list[Row[Any]] = list(conn.execute(stmt))
    if reverse:
        rows.reverse()
    return rows


def record_columns(
    record: type[Any], table: Table, renamed: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...], tuple[ColumnElement[Any], ...]]:
    """The record's field names, and the table's columns in the same order (`renamed`: field -> column).

    Selecting these columns lets `to_record` build records by position, which is several times
    faster than reading a row's attributes by name.
    """
    names = tuple(f.name for f in dataclasses.fields(record))
    renamed = renamed or {}
    return names, tuple(table.c[renamed.get(name, name)] for name in names)


def to_record(record: type[R], names: tuple[str, ...], row: Sequence[Any]) -> R:
    """Build `record` from a row of the columns `record_columns` gave for it."""
    return record(**dict(zip(names, row, strict=True)))


def cursor_key(conn: Connection, table: Table, key: str, *where: ColumnElement[bool]) -> int | None:
    """The paging key of the one row matching `where`, or None."""
    return conn.execute(select(table.c[key]).where(*where)).scalar_one_or_none()


# --- not-found messages ---------------------------------------------------------------------------


def agent_not_found(tenant: str, agent_id: str) -> AgentNotFoundError:
    return AgentNotFoundError(
        f"No agent {agent_id!r} (tenant {tenant!r}). List agents with GET /v1/agents or client.agents.list()."
    )


def block_not_found(tenant: str, block_id: str) -> BlockNotFoundError:
    return BlockNotFoundError(
        f"No memory block {block_id!r} (tenant {tenant!r}). List blocks with GET /v1/blocks "
        "or client.blocks.list()."
    )


def tool_not_found(tenant: str, tool: str) -> ToolNotFoundError:
    return ToolNotFoundError(
        f"No tool {tool!r} (tenant {tenant!r}). List tools with GET /v1/tools or client.tools.list()."
    )


# --- partial updates ------------------------------------------------------------------------------


class Unset(enum.Enum):
    """The type of UNSET: "leave this field as it is" in update methods (None may be a real value)."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET


def given(**fields: Any) -> dict[str, Any]:
    """The fields that are not UNSET."""
    return {k: v for k, v in fields.items() if v is not UNSET}


def dedupe(items: Iterable[str]) -> list[str]:
    """`items` without repeats, first occurrence kept."""
    return list(dict.fromkeys(items))


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its wildcards escaped (escape char: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
