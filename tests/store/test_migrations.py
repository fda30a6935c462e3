"""Migrations: the shipped ones build exactly the schema the code expects, on both engines."""

from __future__ import annotations

import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from llm_persona.store import AgentRecord, PassageRecord, Store, head_revision, upgrade
from llm_persona.store.engine import create_store_engine, resolve_url
from llm_persona.store.migrate import alembic_config, current_revision, include_name
from llm_persona.store.tables import metadata


def _diff(url: str) -> list[object]:
    engine = create_store_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "compare_server_default": True, "include_name": include_name},
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_upgrade_builds_exactly_the_models(empty_url: str) -> None:
    assert upgrade(empty_url) == head_revision()
    assert _diff(empty_url) == []


def test_upgrade_is_idempotent_and_store_open_migrates(empty_url: str) -> None:
    with Store.open(empty_url) as store:
        assert current_revision(store.engine) == head_revision()
    assert upgrade(empty_url) == head_revision()
    assert _diff(empty_url) == []


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_store_engine(resolve_url(empty_url))
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        engine.dispose()
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_concurrent_upgrades_of_an_empty_database_take_turns(empty_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(empty_url)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert _diff(empty_url) == []


def test_migrations_form_one_line_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [head_revision()], "bump HEAD_REVISION in store/migrate.py"
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(r.module.__doc__ for r in revisions), "every migration says what it does"


def test_the_schema_check_would_catch_a_drift(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_store_engine(resolve_url(empty_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE agents ADD COLUMN stray INTEGER")
            conn.exec_driver_sql("DROP INDEX ix_agents_tenant_name")
    finally:
        engine.dispose()
    kinds = sorted(str(d[0]) if isinstance(d, tuple) else "modify" for d in _diff(empty_url))
    assert kinds == ["add_index", "remove_column"]


def test_passages_from_before_full_text_search_are_found_after_it(empty_url: str) -> None:
    with Store.open(empty_url) as store:
        agent = store.create_agent("default", AgentRecord(name="a", model="m"))
        (old,) = store.insert_passages("default", agent.id, [PassageRecord(text="Bo likes green tea")])
    engine = create_store_engine(resolve_url(empty_url))
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")  # before passages had search indexes
    finally:
        engine.dispose()
    with Store.open(empty_url) as store:
        assert store.search_passages("default", agent.id, "tea") == [old]
        if store.dialect == "sqlite":  # found by the index, not by the substring fallback
            with store.engine.connect() as conn:
                hits = conn.exec_driver_sql("SELECT rowid FROM passages_fts WHERE passages_fts MATCH 'tea'")
                assert len(hits.all()) == 1
