"""Persona versions (numbered, idempotent by fingerprint) and labels."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llm_persona.errors import PersonaNotFoundError
from llm_persona.store import Store

from .helpers import OTHER, TENANT

MAYA = {"name": "Maya", "role": "Support"}


def test_versions_number_up_and_repeat_by_fingerprint(store: Store) -> None:
    assert store.record_persona_version(TENANT, "Maya", "f1", MAYA) == 1
    assert store.record_persona_version(TENANT, "Maya", "f2", {**MAYA, "tone": "warm"}) == 2
    assert store.record_persona_version(TENANT, "Maya", "f1", MAYA) == 1
    assert store.record_persona_version(TENANT, "Bob", "f1", {"name": "Bob"}) == 1
    assert store.record_persona_version(OTHER, "Maya", "f2", MAYA) == 1
    v2 = store.get_persona_version(TENANT, "Maya", 2)
    assert (v2.name, v2.number, v2.fingerprint, v2.content, v2.tenant) == (
        "Maya",
        2,
        "f2",
        {**MAYA, "tone": "warm"},
        TENANT,
    )
    assert [v.number for v in store.list_persona_versions(TENANT, "Maya")] == [1, 2]
    assert store.list_persona_names(TENANT) == ["Bob", "Maya"]
    assert store.list_persona_names("nobody") == []
    with pytest.raises(PersonaNotFoundError, match="has no recorded version 3"):
        store.get_persona_version(TENANT, "Maya", 3)


def test_concurrent_recording_gives_one_number_per_fingerprint(store: Store) -> None:
    prints = [f"f{i % 4}" for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda f: store.record_persona_version(TENANT, "Maya", f, MAYA), prints))
    by_print = dict(zip(prints, numbers, strict=True))
    assert sorted(by_print.values()) == [1, 2, 3, 4]
    assert all(by_print[f] == n for f, n in zip(prints, numbers, strict=True))


def test_a_label_set_by_many_writers_at_once_is_set_without_a_conflict(store: Store) -> None:
    """Replicas syncing one persona file for a new tenant all set its labels at the same moment."""
    numbers = [store.record_persona_version(TENANT, "Maya", f"f{i}", MAYA) for i in range(4)]
    start = threading.Barrier(8)

    def point(i: int) -> None:
        start.wait(timeout=10)
        store.set_persona_label(TENANT, "Maya", "production", numbers[i % 4])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(point, range(8)))  # none raises ConflictError
    assert store.get_persona_label(TENANT, "Maya", "production") in numbers


def test_labels_point_move_and_delete(store: Store) -> None:
    for i in (1, 2, 3):
        store.record_persona_version(TENANT, "Maya", f"f{i}", MAYA)
    store.set_persona_label(TENANT, "Maya", "production", 2)
    store.set_persona_label(TENANT, "Maya", "staging", 3)
    assert store.get_persona_label(TENANT, "Maya", "production") == 2
    store.set_persona_label(TENANT, "Maya", "production", 1)  # rollback
    assert store.persona_labels(TENANT, "Maya") == {"production": 1, "staging": 3}
    store.delete_persona_label(TENANT, "Maya", "staging")
    assert store.persona_labels(TENANT, "Maya") == {"production": 1}
    with pytest.raises(PersonaNotFoundError, match="no label 'staging'"):
        store.get_persona_label(TENANT, "Maya", "staging")
    with pytest.raises(PersonaNotFoundError):
        store.delete_persona_label(TENANT, "Maya", "staging")
    with pytest.raises(PersonaNotFoundError, match="no recorded version 9"):
        store.set_persona_label(TENANT, "Maya", "production", 9)
    assert store.get_persona_label(TENANT, "Maya", "production") == 1
    with pytest.raises(PersonaNotFoundError):
        store.get_persona_label(OTHER, "Maya", "production")
    assert store.persona_labels(OTHER, "Maya") == {}
