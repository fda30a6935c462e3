"""Search by meaning on a PostgreSQL that has pgvector: migration 0004 adds the vector copy of each
embedding (kept by a trigger) and the store compares in the database.

The shared test PostgreSQL has no pgvector; these tests start their own PostgreSQL 16 with pgvector
from the `pgserver` wheel (a dev dependency) and are skipped without it. Elsewhere the same searches
run in Python: tests/store/test_passages.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from llm_persona.store import PassageRecord, Store, head_revision
from llm_persona.store.engine import create_store_engine, resolve_url
from llm_persona.store.migrate import alembic_config, include_name
from llm_persona.store.tables import metadata

from .helpers import TENANT, new_agent

pgserver = pytest.importorskip(
    "pgserver", reason="pgserver ships PostgreSQL 16 with pgvector for these tests: pip install pgserver"
)


@pytest.fixture(scope="module")
def pgvector_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = pgserver.get_server(Path(tmp_path_factory.mktemp("pgvector")), cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture
def store(pgvector_url: str) -> Iterator[Store]:
    with Store.open(pgvector_url) as opened:
        yield opened
        with opened.engine.begin() as conn:
            conn.execute(text("DELETE FROM agents"))


@pytest.mark.filterwarnings("ignore:Did not recognize type .vector.")
def test_the_migration_adds_vectors_and_leaves_the_schema_as_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        assert store._has_pgvector(conn)
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert list(compare_metadata(context, metadata)) == []


def test_search_by_meaning_fuses_with_words_in_the_database(store: Store) -> None:
    agent = new_agent(store)
    near, far, close, bare = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="alpha", embedding=[1.0, 0.0, 0.0]),
            PassageRecord(text="beta parcel", embedding=[0.0, 1.0, 0.0]),
            PassageRecord(text="gamma", embedding=[0.9, 0.1, 0.0]),
            PassageRecord(text="delta parcel"),
        ],
    )
    meaning = [1.0, 0.0, 0.0]
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=meaning) == [near, close, far]
    found = store.search_passages(TENANT, agent.id, "parcel", embedding=meaning)
    assert [p.id for p in found] == [far.id, bare.id, near.id, close.id]
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=[1.0, 0.0]) == []
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=[0.0, 0.0, 0.0]) == []


def test_the_vector_follows_the_embedding(store: Store) -> None:
    agent = new_agent(store)
    a, b = store.insert_passages(
        TENANT,
        agent.id,
        [PassageRecord(text="a", embedding=[1.0, 0.0]), PassageRecord(text="b", embedding=[])],
    )
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=[0.0, 1.0]) == [a]
    store.update_passage(TENANT, agent.id, b.id, embedding=[0.0, 1.0])
    store.update_passage(TENANT, agent.id, a.id, embedding=None)
    assert [p.id for p in store.search_passages(TENANT, agent.id, "zzz", embedding=[0.0, 1.0])] == [b.id]


def test_downgrade_drops_the_vectors_and_upgrade_brings_them_back(pgvector_url: str) -> None:
    engine = create_store_engine(resolve_url(pgvector_url))
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
            assert (
                conn.execute(text("SELECT to_regprocedure('passages_embedding_vector()')")).scalar() is None
            )
            command.upgrade(alembic_config(conn), "head")
        with Store.open(pgvector_url) as store, store.engine.connect() as conn:
            assert store._has_pgvector(conn)
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    finally:
        engine.dispose()
