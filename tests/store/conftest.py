"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL must be reachable (CI guarantees it): the tests fail, loudly, when it is not. The URL
comes from $LLM_PERSONA_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).

Each test run creates one throwaway PostgreSQL database with a random name, migrates it once and
drops it at the end; each test starts from it emptied (deleting rows is much faster than DDL).
SQLite tests get a copy of a database file migrated once per run. `empty_url` gives a database
with no schema at all (a fresh schema, or a fresh file) for tests of migrations and opening.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, delete, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from llm_persona.store import Store, upgrade
from llm_persona.store.tables import metadata

PG_URL = os.environ.get("LLM_PERSONA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENGINES = ["sqlite", "postgresql"]


def _psycopg(url: str) -> URL:
    return make_url(url).set(drivername="postgresql+psycopg")


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    """A PostgreSQL database for this test run (random name), dropped afterwards."""
    admin = create_engine(_psycopg(PG_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"llm_persona_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_URL} ({exc.orig}). The store tests need it: start it, "
            "or point LLM_PERSONA_TEST_PG_URL at one.",
            pytrace=False,
        )
    try:
        yield _psycopg(PG_URL).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_database: URL) -> str:
    """The run's database, migrated once (public schema)."""
    url = _render(pg_database)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "llm-persona.db"
    upgrade(f"sqlite:///{path}")  # closes every connection: the WAL is checkpointed into the file
    return path


def _empty_pg(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty database, once per engine."""
    if request.param == "sqlite":
        path = tmp_path / "llm-persona.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_migrated")
    _empty_pg(url)
    yield url
    _empty_pg(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A store on a migrated, empty database, once per engine."""
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database without any table, once per engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    database: URL = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _render(database.update_query_dict({"options": f"-csearch_path={schema}"}))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
