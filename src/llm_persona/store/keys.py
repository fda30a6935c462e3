"""API keys: what maps a caller to a tenant.

A key is `lp-` plus 32 random bytes (urlsafe base64). It is shown once, when created; the store keeps
only its sha256 hash (a fast hash is enough for 256 random bits: there is nothing to brute-force),
plus the tenant it acts for, a label and its use and revocation times. Keys are revoked, never
deleted, so `has_api_keys()` stays true once a key was made: revoking every key locks the server,
it never opens it again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, insert, select, update

from llm_persona.errors import LLMPersonaError
from llm_persona.store.base import StoreBase, record_columns, to_record
from llm_persona.store.records import new_id, utcnow
from llm_persona.store.tables import api_keys

KEY_PREFIX = "lp-"
#: Servers may cache key lookups this long, so a revoked key is refused everywhere within this delay.
REVOCATION_SECONDS = 5.0
#: last_used_at is written at most this often per key, so using a key is (almost always) a pure read.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_MAX_KEY_LENGTH = 128  # longer strings are not our keys: rejected before hashing


@dataclass(kw_only=True, slots=True, frozen=True)
class ApiKeyRecord:
    """An API key as listed: everything but the secret, which is never stored."""

    id: str
    tenant: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiKeyNotFoundError(LLMPersonaError, LookupError):
    """No API key with that id."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError; keep it readable
        return str(self.args[0]) if self.args else ""


KEY_FIELDS, KEY_COLUMNS = record_columns(ApiKeyRecord, api_keys)


def hash_key(secret: str) -> str:
    """The sha256 hex digest the store keeps for `secret`."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    """`tenant` if it is a valid tenant name, else a ValueError saying what is allowed."""
    if not _TENANT.fullmatch(tenant):
        raise ValueError(
            f"{tenant!r} is not a tenant name: use 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. acme or team-2)."
        )
    return tenant


class KeysRepo(StoreBase):
    """API keys of every tenant: an administrator's view, so these methods are not tenant-scoped."""

    def create_api_key(self, tenant: str, name: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key acting for `tenant`: its record and the secret, which cannot be read again."""
        check_tenant(tenant)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=new_id("key"),
            tenant=tenant,
            name=name or None,
            created_at=utcnow(),
            last_used_at=None,
            revoked_at=None,
        )
        with self._write() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=record.id,
                    tenant=tenant,
                    name=record.name,
                    key_hash=hash_key(secret),
                    created_at=record.created_at,
                )
            )
        return record, secret

    def tenant_for_key(self, secret: str) -> str | None:
        """The tenant `secret` acts for, or None if it is unknown or revoked. Records its use."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > _MAX_KEY_LENGTH:
            return None
        digest = hash_key(secret)
        with self._read() as conn:
            row = conn.execute(
                select(api_keys.c.id, api_keys.c.key_hash, api_keys.c.tenant, api_keys.c.last_used_at).where(
                    api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
                )
            ).first()
        # The lookup is by hash, which tells an observer of its timing nothing about the key;
        # the comparison is constant-time anyway, so no path compares secrets byte by byte.
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            with self._write() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
        return str(row.tenant)

    def list_api_keys(self, tenant: str | None = None, *, include_revoked: bool = True) -> list[ApiKeyRecord]:
        """Keys in creation order, of one tenant or (None) of all; never their secrets."""
        stmt = select(*KEY_COLUMNS).order_by(api_keys.c.pk)
        if tenant is not None:
            stmt = stmt.where(api_keys.c.tenant == tenant)
        if not include_revoked:
            stmt = stmt.where(api_keys.c.revoked_at.is_(None))
        with self._read() as conn:
            return [_key_from_row(row) for row in conn.execute(stmt)]

    def get_api_key(self, key_id: str) -> ApiKeyRecord:
        """The key with id `key_id`, or ApiKeyNotFoundError."""
        with self._read() as conn:
            row = conn.execute(select(*KEY_COLUMNS).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise _not_found(key_id)
        return _key_from_row(row)

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        """Revoke the key for good (revoking it again keeps the first time); ApiKeyNotFoundError if unknown."""
        with self._write() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            row = conn.execute(select(*KEY_COLUMNS).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise _not_found(key_id)
        return _key_from_row(row)

    def has_api_keys(self) -> bool:
        """True once any key was created, revoked or not: then every request must carry a live key."""
        with self._read() as conn:
            return conn.execute(select(api_keys.c.pk).limit(1)).first() is not None


def _key_from_row(row: Row[Any]) -> ApiKeyRecord:
    return to_record(ApiKeyRecord, KEY_FIELDS, row)


def _not_found(key_id: str) -> ApiKeyNotFoundError:
    return ApiKeyNotFoundError(f"No API key {key_id!r}. List keys with `llm-persona keys list`.")
