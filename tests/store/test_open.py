"""Opening a store: where the database is, how SQLite is set up, and what errors look like."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from llm_persona.errors import StoreError
from llm_persona.store import AgentRecord, Store
from llm_persona.store.engine import ENV_URL, resolve_url

from .helpers import TENANT


def test_url_comes_from_the_argument_then_the_environment_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(ENV_URL, raising=False)
    default = resolve_url()
    assert default.database == str(tmp_path / ".llm-persona" / "llm-persona.db")
    assert (tmp_path / ".llm-persona").is_dir()
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env' / 'x.db'}")
    assert resolve_url().database == str(tmp_path / "env" / "x.db")
    assert (tmp_path / "env").is_dir()
    assert resolve_url(str(tmp_path / "plain.db")).render_as_string() == f"sqlite:///{tmp_path / 'plain.db'}"


def test_postgres_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u:secret@db:5432/x", "postgres://u:secret@db:5432/x"):
        resolved = resolve_url(url)
        assert resolved.drivername == "postgresql+psycopg"
        assert resolved.password == "secret"
    assert resolve_url("postgresql+psycopg://u@db/x").drivername == "postgresql+psycopg"


def test_unsupported_or_broken_urls_say_what_to_use() -> None:
    with pytest.raises(StoreError, match=r"Unsupported database 'mysql'.*sqlite:///PATH"):
        resolve_url("mysql://u@db/x")
    with pytest.raises(StoreError, match="Cannot read the database URL"):
        resolve_url("sqlite+://:::")


def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("postgresql://u:hunter2@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1:1/nowhere" in str(info.value)


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "x.db")) as store, store.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 30000}


def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with Store.open(url) as store:
            agent = store.create_agent(TENANT, AgentRecord(name="m", model="x"))
            assert store.get_agent(TENANT, agent.id).name == "m"


def test_a_database_without_the_schema_says_to_upgrade(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "bare.db"), migrate=False) as store, pytest.raises(StoreError) as info:
        store.list_agents(TENANT)
    assert "no such table: agents" in str(info.value)
    assert "llm-persona db upgrade" in str(info.value)


def test_repr_hides_the_password(pg_migrated: str) -> None:
    url = make_url(pg_migrated).set(password="hunter2").render_as_string(hide_password=False)
    with Store.open(url) as store:  # trust auth ignores the password
        assert "hunter2" not in repr(store)
        assert "***" in repr(store)


def test_import_llm_persona_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, llm_persona; assert 'sqlalchemy' not in sys.modules, 'llm_persona imported SQLAlchemy'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
