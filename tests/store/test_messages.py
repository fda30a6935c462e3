"""Recall memory: listing an agent's messages by seq or id, filtering, searching."""

from __future__ import annotations

from datetime import timedelta

import pytest

from llm_persona.store import MessageNotFoundError, MessageRecord, Store

from .helpers import OTHER, TENANT, new_agent, say


def test_list_by_seq_and_id_cursors_and_roles(store: Store) -> None:
    agent = new_agent(store)
    other = new_agent(store, name="other")
    say(store, other.id, "not mine")
    msgs = say(store, agent.id, "a", "b", "c") + say(store, agent.id, "d", role="assistant")
    assert [m.seq for m in msgs] == [1, 2, 3, 4]
    assert store.list_messages(TENANT, agent.id) == msgs
    assert store.list_messages(TENANT, agent.id, order="desc") == msgs[::-1]
    assert store.list_messages(TENANT, agent.id, after_seq=2) == msgs[2:]
    assert store.list_messages(TENANT, agent.id, before_seq=3, limit=1) == [msgs[1]]
    assert store.list_messages(TENANT, agent.id, after=msgs[0].id, before=msgs[3].id) == msgs[1:3]
    assert store.list_messages(TENANT, agent.id, roles=["assistant"]) == [msgs[3]]
    assert store.get_message(TENANT, agent.id, msgs[2].id) == msgs[2]
    assert store.count_messages(TENANT, agent.id) == 4
    assert store.count_messages(TENANT, agent.id, roles=["user"]) == 3
    with pytest.raises(ValueError, match="not both"):
        store.list_messages(TENANT, agent.id, after=msgs[0].id, after_seq=1)


def test_unknown_or_foreign_message_ids_raise_not_found(store: Store) -> None:
    agent = new_agent(store)
    other = new_agent(store, name="other")
    theirs = say(store, other.id, "x")[0]
    with pytest.raises(MessageNotFoundError, match="No message 'message-x' for agent"):
        store.get_message(TENANT, agent.id, "message-x")
    with pytest.raises(MessageNotFoundError):
        store.get_message(TENANT, agent.id, theirs.id)
    with pytest.raises(MessageNotFoundError):
        store.list_messages(TENANT, agent.id, after=theirs.id)
    assert isinstance(MessageNotFoundError("x"), LookupError)


def test_search_ranks_by_matching_words_then_recency(store: Store) -> None:
    agent = new_agent(store)
    msgs = say(
        store,
        agent.id,
        "I ordered a blue kettle",
        "The KETTLE arrived broken",
        "Refund the blue kettle please",
        "Nothing to see",
        "50% off_sale",
    )
    found = store.search_messages(TENANT, agent.id, "blue Kettle")
    assert [m.content for m in found] == [msgs[2].content, msgs[0].content, msgs[1].content]
    assert store.search_messages(TENANT, agent.id, "kettle", limit=1) == [msgs[2]]
    assert store.search_messages(TENANT, agent.id, "%") == [msgs[4]]  # wildcards are literal
    assert store.search_messages(TENANT, agent.id, "zebra") == []
    assert store.search_messages(TENANT, agent.id, "kettle", roles=["assistant"]) == []
    assert store.search_messages(TENANT, agent.id, "  ", limit=2) == [msgs[4], msgs[3]]  # empty: newest


def test_search_by_date_range(store: Store) -> None:
    agent = new_agent(store)
    old = MessageRecord(role="user", content="kettle old")
    old.created_at -= timedelta(days=3)
    new = MessageRecord(role="user", content="kettle new")
    store.commit_step(TENANT, agent.id, expected_last_seq=0, step=None, messages=[old, new])
    cutoff = new.created_at - timedelta(days=1)
    assert [m.content for m in store.search_messages(TENANT, agent.id, "kettle", start=cutoff)] == [
        "kettle new"
    ]
    assert [m.content for m in store.search_messages(TENANT, agent.id, "kettle", end=cutoff)] == [
        "kettle old"
    ]


def test_other_tenants_cannot_read_messages(store: Store) -> None:
    agent = new_agent(store)
    msg = say(store, agent.id, "secret")[0]
    with pytest.raises(LookupError):
        store.get_message(OTHER, agent.id, msg.id)
    with pytest.raises(LookupError):
        store.count_messages(OTHER, agent.id)
