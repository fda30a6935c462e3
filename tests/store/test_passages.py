"""Archival memory: insert, list by tags, search, update, delete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from llm_persona.store import PassageNotFoundError, PassageRecord, Store, UnstorableValueError

from .helpers import OTHER, TENANT, new_agent


def test_insert_get_list_count(store: Store) -> None:
    agent = new_agent(store)
    other = new_agent(store, name="other")
    stored = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="Sam likes tea", tags=["pref", "pref"], metadata={"src": "chat"}),
            PassageRecord(text="Order 42 shipped", embedding=[0.1, -0.5, 3.0]),
        ],
    )
    store.insert_passages(TENANT, other.id, [PassageRecord(text="not mine")])
    assert [p.agent_id for p in stored] == [agent.id, agent.id]
    assert stored[0].tags == ["pref"]
    assert stored[0].tenant == TENANT
    assert store.get_passage(TENANT, agent.id, stored[1].id) == stored[1]
    assert stored[1].embedding == [0.1, -0.5, 3.0]
    assert store.get_passage(TENANT, agent.id, stored[0].id).embedding is None
    assert store.list_passages(TENANT, agent.id) == stored
    assert store.list_passages(TENANT, agent.id, order="desc", limit=1) == [stored[1]]
    assert store.count_passages(TENANT, agent.id) == 2
    assert store.insert_passages(TENANT, agent.id, []) == []


def test_embedding_none_is_sql_null(store: Store) -> None:
    agent = new_agent(store)
    store.insert_passages(TENANT, agent.id, [PassageRecord(text="x")])
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM passages WHERE embedding IS NULL").scalar_one() == 1


def test_tag_filters_any_and_all(store: Store) -> None:
    agent = new_agent(store)
    a, b, _c = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="a", tags=["x", "y"]),
            PassageRecord(text="b", tags=["y"]),
            PassageRecord(text="c"),
        ],
    )
    assert store.list_passages(TENANT, agent.id, tags=["y"]) == [a, b]
    assert store.list_passages(TENANT, agent.id, tags=["x", "y"]) == [a, b]
    assert store.list_passages(TENANT, agent.id, tags=["x", "y"], match_all_tags=True) == [a]
    assert store.search_passages(TENANT, agent.id, "b c", tags=["y"]) == [b]


def test_search_ranks_by_matching_words_then_recency(store: Store) -> None:
    agent = new_agent(store)
    old = PassageRecord(text="Sam prefers green tea")
    old.created_at -= timedelta(days=2)
    texts = ["Sam prefers green tea", "Sam's order shipped", "TEA for Sam, always green", "unrelated"]
    stored = store.insert_passages(TENANT, agent.id, [old, *(PassageRecord(text=t) for t in texts[1:])])
    found = store.search_passages(TENANT, agent.id, "green tea")
    assert [p.text for p in found] == [stored[2].text, stored[0].text]
    assert [p.text for p in store.search_passages(TENANT, agent.id, "sam", limit=2)] == [
        stored[2].text,
        stored[1].text,
    ]
    cutoff = stored[1].created_at - timedelta(days=1)
    assert store.search_passages(TENANT, agent.id, "green", start=cutoff) == [stored[2]]
    assert store.search_passages(TENANT, agent.id, "green", end=cutoff) == [stored[0]]
    assert store.search_passages(TENANT, agent.id, "", limit=1) == [stored[3]]


def test_update_and_delete(store: Store) -> None:
    agent = new_agent(store)
    (p,) = store.insert_passages(TENANT, agent.id, [PassageRecord(text="old", tags=["a"])])
    updated = store.update_passage(TENANT, agent.id, p.id, text="new", tags=["b"], embedding=[1.0])
    assert (updated.text, updated.tags, updated.embedding, updated.metadata) == ("new", ["b"], [1.0], {})
    assert store.list_passages(TENANT, agent.id, tags=["a"]) == []
    assert store.list_passages(TENANT, agent.id, tags=["b"]) == [updated]
    assert store.update_passage(TENANT, agent.id, p.id) == updated
    store.delete_passage(TENANT, agent.id, p.id)
    assert store.count_passages(TENANT, agent.id) == 0


def test_unknown_foreign_and_other_tenant_passages_are_not_found(store: Store) -> None:
    agent = new_agent(store)
    other = new_agent(store, name="other")
    (theirs,) = store.insert_passages(TENANT, other.id, [PassageRecord(text="t")])
    for call in (
        lambda: store.get_passage(TENANT, agent.id, "passage-x"),
        lambda: store.get_passage(TENANT, agent.id, theirs.id),
        lambda: store.update_passage(TENANT, agent.id, theirs.id, text="x"),
        lambda: store.update_passage(TENANT, agent.id, theirs.id),
        lambda: store.delete_passage(TENANT, agent.id, theirs.id),
        lambda: store.list_passages(TENANT, agent.id, after=theirs.id),
    ):
        with pytest.raises(PassageNotFoundError):
            call()
    for call in (
        lambda: store.get_passage(OTHER, other.id, theirs.id),
        lambda: store.delete_passage(OTHER, other.id, theirs.id),
        lambda: store.list_passages(OTHER, other.id),
        lambda: store.search_passages(OTHER, other.id, "t"),
        lambda: store.insert_passages(OTHER, other.id, [PassageRecord(text="x")]),
    ):
        with pytest.raises(LookupError):
            call()
    assert store.get_passage(TENANT, other.id, theirs.id) == theirs


def test_a_date_past_year_9999_in_utc_is_an_unstorable_value_error(store: Store) -> None:
    agent = new_agent(store)
    late = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))  # year 10000 in UTC
    with pytest.raises(UnstorableValueError, match="cannot store a value"):
        store.insert_passages(TENANT, agent.id, [PassageRecord(text="x", created_at=late)])
    assert store.count_passages(TENANT, agent.id) == 0
