"""Memory blocks: CRUD, limits, versions, attaching, sharing, labels."""

from __future__ import annotations

import pytest

from llm_persona.errors import AgentNotFoundError, BlockLimitError, BlockNotFoundError, ConflictError
from llm_persona.store import BlockRecord, Store, UnstorableValueError

from .helpers import OTHER, TENANT, new_agent


def test_create_get_list_count(store: Store) -> None:
    a = store.create_block(
        TENANT,
        BlockRecord(
            label="human", value="Sam", limit=100, description="who", read_only=True, metadata={"k": 1}
        ),
    )
    b = store.create_block(TENANT, BlockRecord(label="persona"))
    assert a.id.startswith("block-")
    assert store.get_block(TENANT, a.id) == a
    assert (a.label, a.value, a.limit, a.description, a.read_only, a.metadata, a.version) == (
        "human",
        "Sam",
        100,
        "who",
        True,
        {"k": 1},
        1,
    )
    assert b.limit == 20_000
    assert b.value == ""
    assert not b.read_only
    assert [x.id for x in store.list_blocks(TENANT)] == [a.id, b.id]
    assert [x.id for x in store.list_blocks(TENANT, label="persona")] == [b.id]
    assert store.count_blocks(TENANT) == 2
    assert store.count_blocks(TENANT, label="human") == 1


def test_create_over_limit_writes_nothing(store: Store) -> None:
    with pytest.raises(BlockLimitError, match="6 characters, over its limit of 5"):
        store.create_block(TENANT, BlockRecord(label="human", value="x" * 6, limit=5))
    assert store.count_blocks(TENANT) == 0
    store.create_block(TENANT, BlockRecord(label="human", value="x" * 5, limit=5))


def test_update_bumps_the_version_and_changes_only_given_fields(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="Sam", description="d"))
    updated = store.update_block(TENANT, block.id, value="Sam, likes tea")
    assert (updated.value, updated.description, updated.version) == ("Sam, likes tea", "d", 2)
    assert updated.updated_at >= block.updated_at
    updated = store.update_block(
        TENANT, block.id, description=None, limit=50, read_only=True, metadata={"a": 1}
    )
    assert (updated.description, updated.limit, updated.read_only, updated.metadata, updated.version) == (
        None,
        50,
        True,
        {"a": 1},
        3,
    )
    assert store.get_block(TENANT, block.id) == updated


def test_update_over_limit_writes_nothing(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="abc", limit=10))
    with pytest.raises(BlockLimitError, match="11 characters, over its limit of 10"):
        store.update_block(TENANT, block.id, value="x" * 11, description="changed")
    with pytest.raises(BlockLimitError):
        store.update_block(TENANT, block.id, limit=2)
    assert store.get_block(TENANT, block.id) == block


def test_update_with_a_stale_version_is_a_conflict(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human", value="a"))
    store.update_block(TENANT, block.id, value="b", expected_version=1)
    with pytest.raises(ConflictError, match="version 2, not 1"):
        store.update_block(TENANT, block.id, value="c", expected_version=1)
    assert store.get_block(TENANT, block.id).value == "b"


def test_unknown_block_raises_not_found(store: Store) -> None:
    agent = new_agent(store)
    with pytest.raises(BlockNotFoundError, match=r"No memory block 'block-x' \(tenant 'default'\)"):
        store.get_block(TENANT, "block-x")
    for call in (
        lambda: store.update_block(TENANT, "block-x", value="v"),
        lambda: store.delete_block(TENANT, "block-x"),
        lambda: store.attach_block(TENANT, agent.id, "block-x"),
        lambda: store.detach_block(TENANT, agent.id, "block-x"),
        lambda: store.block_agents(TENANT, "block-x"),
        lambda: store.list_blocks(TENANT, after="block-x"),
        lambda: store.agent_block(TENANT, agent.id, "nope"),
    ):
        with pytest.raises(BlockNotFoundError):
            call()


def test_attach_appends_in_order_and_is_idempotent(store: Store) -> None:
    a, b = (store.create_block(TENANT, BlockRecord(label=label)) for label in ("a", "b"))
    agent = new_agent(store)
    assert store.attach_block(TENANT, agent.id, b.id).block_ids == [b.id]
    assert store.attach_block(TENANT, agent.id, a.id).block_ids == [b.id, a.id]
    assert store.attach_block(TENANT, agent.id, a.id).block_ids == [b.id, a.id]
    assert store.agent_block(TENANT, agent.id, "a") == store.get_block(TENANT, a.id)
    assert store.detach_block(TENANT, agent.id, b.id).block_ids == [a.id]
    assert store.detach_block(TENANT, agent.id, b.id).block_ids == [a.id]  # already detached: no-op
    assert store.get_block(TENANT, b.id).id == b.id  # detaching keeps the block
    with pytest.raises(AgentNotFoundError):
        store.attach_block(TENANT, "agent-x", a.id)


def test_an_agent_holds_one_block_per_label(store: Store) -> None:
    first = store.create_block(TENANT, BlockRecord(label="human"))
    second = store.create_block(TENANT, BlockRecord(label="human"))
    agent = new_agent(store, block_ids=[first.id])
    with pytest.raises(ConflictError, match=r"already holds block .* labelled 'human'"):
        store.attach_block(TENANT, agent.id, second.id)
    assert store.get_agent(TENANT, agent.id).block_ids == [first.id]


def test_relabel_that_would_clash_inside_an_agent_writes_nothing(store: Store) -> None:
    human = store.create_block(TENANT, BlockRecord(label="human"))
    notes = store.create_block(TENANT, BlockRecord(label="notes"))
    new_agent(store, block_ids=[human.id, notes.id])
    with pytest.raises(ConflictError, match="Cannot relabel"):
        store.update_block(TENANT, notes.id, label="human", value="v")
    assert store.get_block(TENANT, notes.id) == notes
    relabelled = store.update_block(TENANT, notes.id, label="facts")
    assert relabelled.label == "facts"
    agent_id = store.block_agents(TENANT, notes.id)[0].id
    assert store.agent_block(TENANT, agent_id, "facts").id == notes.id


def test_a_shared_block_is_one_block_for_every_agent(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org", value="Acme"))
    a = new_agent(store, name="a", block_ids=[shared.id])
    b = new_agent(store, name="b", block_ids=[shared.id])
    new_agent(store, name="c")
    assert [x.id for x in store.block_agents(TENANT, shared.id)] == [a.id, b.id]
    store.update_block(TENANT, shared.id, value="Acme Corp")
    assert store.agent_blocks(TENANT, a.id)[0].value == "Acme Corp"
    assert store.agent_blocks(TENANT, b.id)[0].value == "Acme Corp"


def test_deleting_a_block_detaches_it_from_every_agent(store: Store) -> None:
    shared = store.create_block(TENANT, BlockRecord(label="org"))
    keep = store.create_block(TENANT, BlockRecord(label="human"))
    a = new_agent(store, block_ids=[shared.id, keep.id])
    store.delete_block(TENANT, shared.id)
    assert store.get_agent(TENANT, a.id).block_ids == [keep.id]
    with pytest.raises(BlockNotFoundError):
        store.get_block(TENANT, shared.id)


def test_other_tenants_cannot_see_or_use_a_block(store: Store) -> None:
    block = store.create_block(TENANT, BlockRecord(label="human"))
    theirs = new_agent(store, OTHER)
    assert store.list_blocks(OTHER) == []
    assert store.count_blocks(OTHER) == 0
    for call in (
        lambda: store.get_block(OTHER, block.id),
        lambda: store.update_block(OTHER, block.id, value="x"),
        lambda: store.delete_block(OTHER, block.id),
        lambda: store.attach_block(OTHER, theirs.id, block.id),
        lambda: store.block_agents(OTHER, block.id),
        lambda: store.create_agent(OTHER, theirs.__class__(name="x", model="m", block_ids=[block.id])),
    ):
        with pytest.raises(BlockNotFoundError):
            call()
    assert store.get_block(TENANT, block.id) == block


def test_a_number_the_database_cannot_hold_is_an_unstorable_value_error(store: Store) -> None:
    """SQLite stops at 64 bits (an OverflowError from the driver), PostgreSQL's INTEGER at 32 (a
    DataError): both are the caller's value at fault, not the database, and write nothing."""
    block = store.create_block(TENANT, BlockRecord(label="human"))
    for call in (
        lambda: store.create_block(TENANT, BlockRecord(label="x", limit=2**64)),
        lambda: store.update_block(TENANT, block.id, limit=2**64),
    ):
        with pytest.raises(UnstorableValueError, match="cannot store a value"):
            call()
    assert store.list_blocks(TENANT) == [block]
