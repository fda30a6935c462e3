"""API keys in the store: only a hash is kept, lookups find the tenant of live keys only."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from llm_persona.store import Store
from llm_persona.store.keys import ApiKeyNotFoundError, ApiKeyRecord
from llm_persona.store.tables import api_keys


def test_create_returns_the_secret_once_and_stores_only_its_hash(store: Store) -> None:
    record, secret = store.create_api_key("acme", "ci")
    assert secret.startswith("lp-")
    assert len(secret) == len("lp-") + 43  # 32 random bytes, urlsafe base64 without padding
    assert record.id.startswith("key-")
    assert (record.tenant, record.name, record.last_used_at, record.revoked_at) == ("acme", "ci", None, None)
    assert not record.revoked
    with store.engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(select(api_keys))]
    assert len(rows) == 1
    assert all(secret not in str(value) for value in rows[0])
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    assert "secret" not in ApiKeyRecord.__dataclass_fields__
    assert "key_hash" not in ApiKeyRecord.__dataclass_fields__


def test_every_key_is_different(store: Store) -> None:
    secrets = {store.create_api_key("acme")[1] for _ in range(5)}
    assert len(secrets) == 5


def test_tenant_for_key_finds_live_keys_only(store: Store) -> None:
    acme, acme_secret = store.create_api_key("acme")
    _, globex_secret = store.create_api_key("globex")
    assert store.tenant_for_key(acme_secret) == "acme"
    assert store.tenant_for_key(globex_secret) == "globex"
    assert store.tenant_for_key(acme_secret + "x") is None
    assert store.tenant_for_key(acme_secret[:-1]) is None
    assert store.tenant_for_key("lp-" + "A" * 43) is None
    assert store.tenant_for_key("not-our-format") is None
    assert store.tenant_for_key("lp-" + "A" * 1000) is None
    assert store.tenant_for_key("") is None
    store.revoke_api_key(acme.id)
    assert store.tenant_for_key(acme_secret) is None
    assert store.tenant_for_key(globex_secret) == "globex"


def test_use_is_recorded_at_most_once_a_minute(store: Store) -> None:
    record, secret = store.create_api_key("acme")
    store.tenant_for_key(secret)
    first = store.get_api_key(record.id).last_used_at
    assert first is not None
    assert first >= record.created_at
    store.tenant_for_key(secret)
    assert store.get_api_key(record.id).last_used_at == first
    with store.engine.begin() as conn:
        conn.execute(update(api_keys).values(last_used_at=first - timedelta(minutes=2)))
    store.tenant_for_key(secret)
    later = store.get_api_key(record.id).last_used_at
    assert later is not None
    assert later >= first


def test_list_in_creation_order_by_tenant_and_status(store: Store) -> None:
    a1, _ = store.create_api_key("acme", "first")
    g1, _ = store.create_api_key("globex")
    a2, _ = store.create_api_key("acme", "second")
    store.revoke_api_key(a1.id)
    assert [k.id for k in store.list_api_keys()] == [a1.id, g1.id, a2.id]
    assert [k.id for k in store.list_api_keys("acme")] == [a1.id, a2.id]
    assert [k.id for k in store.list_api_keys("acme", include_revoked=False)] == [a2.id]
    assert store.list_api_keys("initech") == []
    listed = store.list_api_keys("acme")[0]
    assert listed.revoked
    assert (listed.name, listed.created_at) == ("first", a1.created_at)


def test_revoke_is_idempotent_and_unknown_ids_are_clear_errors(store: Store) -> None:
    record, _ = store.create_api_key("acme")
    revoked = store.revoke_api_key(record.id)
    assert revoked.revoked_at is not None
    assert store.revoke_api_key(record.id).revoked_at == revoked.revoked_at
    with pytest.raises(ApiKeyNotFoundError, match=r"No API key 'key-nope'.*llm-persona keys list") as raised:
        store.revoke_api_key("key-nope")
    assert isinstance(raised.value, LookupError)
    with pytest.raises(ApiKeyNotFoundError):
        store.get_api_key("key-nope")


def test_has_api_keys_stays_true_once_a_key_was_made(store: Store) -> None:
    assert store.has_api_keys() is False
    record, _ = store.create_api_key("acme")
    assert store.has_api_keys() is True
    store.revoke_api_key(record.id)
    assert store.has_api_keys() is True  # revoking every key locks the server; it never reopens it


@pytest.mark.parametrize("tenant", ["", " acme", "ac me", "-acme", "a/b", "x" * 65])
def test_tenant_names_are_checked(store: Store, tenant: str) -> None:
    with pytest.raises(ValueError, match="is not a tenant name"):
        store.create_api_key(tenant)
    assert store.has_api_keys() is False
