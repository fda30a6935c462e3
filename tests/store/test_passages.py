"""Archival memory: insert, list by tags, search, update, delete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

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
    texts = ["Sam prefers green tea", "Sam's order shipped", "Sam prefers green tea", "unrelated"]
    stored = store.insert_passages(TENANT, agent.id, [old, *(PassageRecord(text=t) for t in texts[1:])])
    found = store.search_passages(TENANT, agent.id, "GREEN tea")
    assert [p.id for p in found] == [stored[2].id, stored[0].id]  # equally relevant: the newest first
    assert len(store.search_passages(TENANT, agent.id, "sam", limit=2)) == 2
    cutoff = stored[1].created_at - timedelta(days=1)
    assert store.search_passages(TENANT, agent.id, "green", start=cutoff) == [stored[2]]
    assert store.search_passages(TENANT, agent.id, "green", end=cutoff) == [stored[0]]
    assert store.search_passages(TENANT, agent.id, "", limit=1) == [stored[3]]


def test_search_prefers_passages_holding_more_of_the_words(store: Store) -> None:
    agent = new_agent(store)
    both, one = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="The customer asked about the refund policy for damaged parcels"),
            PassageRecord(text="refund"),
        ],
    )
    assert [p.id for p in store.search_passages(TENANT, agent.id, "refund parcels")] == [both.id, one.id]


def test_search_matches_word_prefixes_then_falls_back_to_substrings(store: Store) -> None:
    agent = new_agent(store)
    tea, pot, cjk = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="Bo drinks tea"),
            PassageRecord(text="Her teapot is blue"),
            PassageRecord(text="我喜欢喝茶"),
        ],
    )
    assert {p.id for p in store.search_passages(TENANT, agent.id, "tea")} == {tea.id, pot.id}
    assert store.search_passages(TENANT, agent.id, "eapo") == [pot]  # no word starts so: substring
    assert store.search_passages(TENANT, agent.id, "喝茶") == [cjk]
    assert store.search_passages(TENANT, agent.id, "coffee") == []
    assert store.search_passages(TENANT, agent.id, "?!") == []
    assert tea in store.search_passages(TENANT, agent.id, "snake_case tea")


def test_search_follows_edits_and_deletes_and_stays_within_the_agent(store: Store) -> None:
    agent = new_agent(store)
    other = new_agent(store, name="other")
    (mine,) = store.insert_passages(TENANT, agent.id, [PassageRecord(text="apples")])
    (theirs,) = store.insert_passages(TENANT, other.id, [PassageRecord(text="apples and pears")])
    assert store.search_passages(TENANT, agent.id, "apples") == [mine]
    store.update_passage(TENANT, agent.id, mine.id, text="pears")
    assert store.search_passages(TENANT, agent.id, "apples") == []
    assert [p.id for p in store.search_passages(TENANT, agent.id, "pears")] == [mine.id]
    store.delete_passage(TENANT, agent.id, mine.id)
    assert store.search_passages(TENANT, agent.id, "pears") == []
    store.delete_agent(TENANT, other.id)
    again = new_agent(store, name="again")
    assert store.search_passages(TENANT, again.id, "apples pears") == []
    assert theirs.id not in {p.id for p in store.list_passages(TENANT, again.id)}
    if store.dialect == "sqlite":  # the FTS5 index still agrees with the table (it raises if not)
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')"))
            assert conn.execute(text("SELECT count(*) FROM passages_fts_docsize")).scalar() == 0


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


def test_search_by_meaning_fuses_with_words(store: Store) -> None:
    agent = new_agent(store)
    near, far, close, bare = store.insert_passages(
        TENANT,
        agent.id,
        [
            PassageRecord(text="alpha", embedding=[1.0, 0.0, 0.0]),
            PassageRecord(text="beta parcel", embedding=[0.0, 1.0, 0.0]),
            PassageRecord(text="gamma", embedding=[0.9, 0.1, 0.0]),
            PassageRecord(text="delta parcel"),  # no embedding: found by words only
        ],
    )
    meaning = [1.0, 0.0, 0.0]
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=meaning) == [near, close, far]
    # words rank bare then far (newest first), meaning near, close, far: far is in both
    assert [p.id for p in store.search_passages(TENANT, agent.id, "parcel", embedding=meaning)] == [
        far.id,
        bare.id,
        near.id,
        close.id,
    ]
    assert store.search_passages(TENANT, agent.id, "parcel", embedding=meaning, limit=1) == [far]
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=[1.0, 0.0]) == []  # another size
    assert store.search_passages(TENANT, agent.id, "zzz", embedding=meaning, tags=["x"]) == []


def test_a_sqlite_without_fts5_searches_by_substring(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-fts5.db'}"
    with Store.open(url) as store, store.engine.begin() as conn:  # as migration 0003 leaves it there
        for trigger in ("insert", "delete", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER passages_fts_{trigger}")
        conn.exec_driver_sql("DROP TABLE passages_fts")
    with Store.open(url) as store:
        agent = new_agent(store)
        tea, pot = store.insert_passages(
            TENANT, agent.id, [PassageRecord(text="Bo drinks tea"), PassageRecord(text="a blue teapot")]
        )
        assert store.search_passages(TENANT, agent.id, "tea") == [pot, tea]
        assert store.search_passages(TENANT, agent.id, "drinks tea") == [tea, pot]
