"""SQLite under a full disk and a locked database: the caller gets a 503 with a `detail` saying what is
wrong, the database stays intact (`PRAGMA integrity_check`), and the agent carries on once the cause
is gone.

The full disk is a small tmpfs when this process may mount one (root), else the database's own size
limit (`PRAGMA max_page_count`, set on every connection of an in-process server): both make SQLite
fail a write with SQLITE_FULL. The lock is another connection holding `BEGIN EXCLUSIVE` for longer
than the server's busy timeout (`?timeout=0.5` in its database URL).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from llm_persona.agents import AgentRuntime
from llm_persona.llm import get_model
from llm_persona.store import Store
from llm_persona.testing import FakeOpenAIServer
from tests.faults.client import MODES, Mode, Outcome, create_agent, send
from tests.faults.history import check_history
from tests.faults.procs import ServerProcess
from tests.faults.replies import expected_reply
from tests.server.conftest import start_server

BIG = "x" * 20_000  # a message that makes the database grow


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of the database file (with its WAL), from a fresh connection."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


@pytest.fixture
def db_file(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "agents.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield http


def assert_store_error(outcome: Outcome, mode: Mode, *words: str) -> None:
    """A JSON call is a 503 with a detail; a stream that had started ends with an error event."""
    if mode == "json":
        assert outcome.status == 503, outcome
    else:
        assert (outcome.status, outcome.stop_reason, outcome.error_type) == (200, "error", "StoreError"), (
            outcome
        )
    for word in words:
        assert word in (outcome.detail or ""), outcome.detail


# --- database locked --------------------------------------------------------------------------------


async def test_a_database_locked_past_the_busy_timeout(
    db_file: Path, fake: FakeOpenAIServer, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    server = ServerProcess(f"sqlite:///{db_file}?timeout=0.5", fake.base_url, tmp_path)
    try:
        await _locked(server, db_file, client)
    finally:
        server.kill()
    assert integrity(db_file) == "ok"


async def _locked(server: ServerProcess, db_file: Path, client: httpx.AsyncClient) -> None:
    server.start()
    agent_id = await create_agent(client, server.url, "locked-out")
    acknowledged = {"before": expected_reply("before")}
    assert (await send(client, server.url, agent_id, "before", "json")).reply == acknowledged["before"]

    holder = sqlite3.connect(db_file, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        for mode in MODES:
            started = time.monotonic()
            outcome = await send(client, server.url, agent_id, f"while locked ({mode})", mode)
            assert_store_error(outcome, mode, "is locked", "retry", "?timeout=")
            assert time.monotonic() - started < 10  # the server's 0.5 s, not the default 30 s
        created = await client.post(
            f"{server.url}/v1/agents/", json={"name": "new", "model": "openai/fake-model"}
        )
        assert created.status_code == 503, created.text
        assert "is locked" in created.json()["detail"]
        listed = await client.get(f"{server.url}/v1/agents/{agent_id}/messages")  # readers are not blocked
        assert listed.status_code == 200
    finally:
        holder.rollback()
        holder.close()

    after = await send(client, server.url, agent_id, "after", "tokens")
    assert (after.stop_reason, after.reply) == ("end_turn", expected_reply("after"))
    acknowledged["after"] = expected_reply("after")
    with Store.open(str(db_file), migrate=False) as store:
        history = check_history(store, agent_id, acknowledged=acknowledged)
    assert not [m for m in history if m.content and "while locked" in m.content]  # nothing half-written


def test_a_bad_busy_timeout_in_the_url(tmp_path: Path) -> None:
    from llm_persona.errors import StoreError

    with pytest.raises(StoreError, match=r"timeout='soon' in the SQLite URL is not a number of seconds"):
        Store.open(f"sqlite:///{tmp_path / 'x.db'}?timeout=soon")


# --- disk full --------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (skips the test where mounting is not allowed)."""
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    chunk = b"\0" * 65_536
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


async def _until_full(
    client: httpx.AsyncClient, url: str, agent_id: str, acknowledged: dict[str, str]
) -> Outcome:
    """Send big messages until one fails (earlier ones may fit in space the WAL already holds)."""
    for i in range(100):
        text = f"big {i} {BIG}"
        outcome = await send(client, url, agent_id, text, "json")
        if outcome.status != 200:
            return outcome
        acknowledged[text] = expected_reply(text)
    raise AssertionError("the database never ran out of space")


async def test_a_full_disk(
    fake: FakeOpenAIServer, tmp_path: Path, sqlite_template: Path, client: httpx.AsyncClient
) -> None:
    """`llm-persona serve` on a 3 MB tmpfs that fills up."""
    with small_disk(tmp_path / "disk", "3m") as disk:
        db_file = disk / "agents.db"
        shutil.copyfile(sqlite_template, db_file)
        server = ServerProcess(f"sqlite:///{db_file}", fake.base_url, tmp_path)
        try:
            server.start()
            agent_id = await create_agent(client, server.url, "cramped")
            acknowledged = {"before": expected_reply("before")}
            assert (await send(client, server.url, agent_id, "before", "json")).reply == acknowledged[
                "before"
            ]

            filler = fill(disk)
            outcome = await _until_full(client, server.url, agent_id, acknowledged)
            assert_store_error(outcome, "json", "cannot grow", "full", "free disk space")
            for mode in ("stream", "tokens"):
                outcome = await send(client, server.url, agent_id, f"{mode} {BIG}", mode)
                assert_store_error(outcome, mode, "cannot grow")
            assert integrity(db_file) == "ok"

            server.kill()  # a crash while the disk is full
            assert integrity(db_file) == "ok"
            filler.unlink()
            server.start()
            after = await send(client, server.url, agent_id, "after", "tokens")
            assert (after.stop_reason, after.reply) == ("end_turn", expected_reply("after"))
            acknowledged["after"] = expected_reply("after")
            with Store.open(str(db_file), migrate=False) as store:
                check_history(store, agent_id, acknowledged=acknowledged)
        finally:
            server.kill()
        assert integrity(db_file) == "ok"


async def test_a_database_at_its_size_limit(
    db_file: Path, fake: FakeOpenAIServer, client: httpx.AsyncClient
) -> None:
    """The same through an in-process server whose connections cap the database's page count."""
    cap: dict[str, int | None] = {"pages": None}
    with Store.open(str(db_file)) as store:

        @event.listens_for(store.engine, "checkout")
        def _cap(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            pages = cap["pages"] or 1_073_741_823
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

        model = get_model("openai/fake-model", base_url=fake.base_url, api_key="sk-test")
        runtime = AgentRuntime(store, models=lambda handle: model)
        server = start_server(runtime, None, store)  # type: ignore[arg-type]
        try:
            agent_id = await create_agent(client, server.url, "capped")
            acknowledged = {"before": expected_reply("before")}
            assert (await send(client, server.url, agent_id, "before", "json")).reply == acknowledged[
                "before"
            ]

            cap["pages"] = 1  # no more than it has now
            outcome = await _until_full(client, server.url, agent_id, acknowledged)
            assert_store_error(outcome, "json", "cannot grow", "database or disk is full")
            outcome = await send(client, server.url, agent_id, f"streamed {BIG}", "tokens")
            assert_store_error(outcome, "tokens", "cannot grow")
            assert integrity(db_file) == "ok"

            cap["pages"] = None
            after = await send(client, server.url, agent_id, "after", "json")
            assert (after.stop_reason, after.reply) == ("end_turn", expected_reply("after"))
            acknowledged["after"] = expected_reply("after")
            check_history(store, agent_id, acknowledged=acknowledged)
        finally:
            server.stop()
    assert integrity(db_file) == "ok"
