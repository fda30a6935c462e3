"""Where the database is and how to talk to it: URL resolution, engines, SQLite pragmas.

SQLite runs in WAL mode with foreign keys on. Its driver's implicit transactions are switched off
and every transaction begins explicitly: `BEGIN` for reads (one snapshot for all their queries)
and `BEGIN IMMEDIATE` for writes (take the write lock first, so a read-then-write transaction
never fails half way with SQLITE_BUSY). A process's writers queue in order (store/fifo.py); a
writer waits up to 30 s in that queue, and as long for another process's write lock;
`?timeout=SECONDS` in the URL (the sqlite3 driver's own parameter) changes that.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from llm_persona.errors import StoreError

ENV_URL = "LLM_PERSONA_DB_URL"
DEFAULT_PATH = "~/.llm-persona/llm-persona.db"
#: Execution option that makes a SQLite transaction begin with BEGIN IMMEDIATE.
WRITE_OPTION = "llm_persona_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: SQLite's page cache per connection, KiB.
SQLITE_CACHE_KIB = 512


def resolve_url(url: str | None = None) -> URL:
    """The database URL to use: `url`, else $LLM_PERSONA_DB_URL, else ~/.llm-persona/llm-persona.db.

    A plain path means a SQLite file; `postgresql://` and `postgres://` use the psycopg 3 driver.
    The folder of a SQLite file is created.
    """
    raw = url or os.environ.get(ENV_URL) or DEFAULT_PATH
    if "://" not in raw:
        resolved = URL.create("sqlite", database=str(Path(raw).expanduser()))
    else:
        try:
            resolved = make_url(raw)
        except (ArgumentError, ValueError) as exc:
            raise StoreError(
                f"Cannot read the database URL {raw!r}: {exc}. Use sqlite:///PATH, a plain file path, "
                f"or postgresql://USER@HOST:PORT/DB (set it with {ENV_URL})."
            ) from exc
        if resolved.drivername in ("postgresql", "postgres"):
            resolved = resolved.set(drivername="postgresql+psycopg")
    backend = resolved.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"Unsupported database {backend!r} in {resolved.render_as_string(hide_password=True)!r}. "
            "llm-persona stores agents in SQLite (sqlite:///PATH) or PostgreSQL (postgresql://...)."
        )
    if backend == "sqlite" and not is_memory(resolved) and resolved.database:
        Path(resolved.database).parent.mkdir(parents=True, exist_ok=True)
    return resolved


def is_memory(url: URL) -> bool:
    """True for an in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


def create_store_engine(url: URL) -> Engine:
    """An engine for `url`, configured for the store (see the module docstring)."""
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    busy_timeout_ms = sqlite_busy_timeout_ms(url)  # before the driver reads (and rejects) a bad one
    if is_memory(url):
        # One connection shared by every thread: the store serialises access to it.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, pool_size=8, max_overflow=16)
    _configure_sqlite(engine, wal=not is_memory(url), busy_timeout_ms=busy_timeout_ms)
    return engine


def sqlite_busy_timeout_ms(url: URL) -> int:
    """How long a SQLite writer waits for another's lock: the URL's `timeout` (seconds), else 30 s."""
    raw = url.query.get("timeout")
    if raw is None:
        return SQLITE_BUSY_TIMEOUT_MS
    text = raw if isinstance(raw, str) else raw[-1]
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86_400:
        raise StoreError(
            f"timeout={text!r} in the SQLite URL is not a number of seconds; write e.g. "
            "sqlite:///PATH?timeout=5 (how long a write waits for another connection's lock)."
        )
    return int(seconds * 1000)


def create_lock_engine(url: URL, *, size: int) -> Engine:
    """At most `size` PostgreSQL connections that hold per-agent advisory locks, apart from the
    data pool (a waiting lock never starves it). Autocommit: a session lock needs no transaction,
    and must not idle in one."""
    return create_engine(
        url, pool_size=size, max_overflow=0, pool_pre_ping=True, isolation_level="AUTOCOMMIT"
    )


def _configure_sqlite(engine: Engine, *, wal: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit transactions: _on_begin starts them
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")  # first: the next pragma may wait
        if wal:
            _enable_wal(cursor, busy_timeout_ms)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A small page cache per connection (the default is 2 MiB): in WAL mode a connection drops its
        # cache whenever another one has written, so a big one buys little and each pooled
        # connection would grow to hold it; the OS caches the file for all of them.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Switch to WAL. Switching needs an exclusive lock and SQLite does not wait for one (no busy
    handler), so a process opening the file while another opens it too retries here."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
