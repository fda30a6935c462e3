"""Who is calling: the tenant a request acts for.

Until the store holds an API key, the server is open and every request acts for tenant "default"
(and `llm-persona serve` only listens on loopback addresses). Once a key exists (`llm-persona keys
create`), every route but `GET /v1/health/` needs `Authorization: Bearer <key>` (what letta-client
sends for `Letta(api_key=...)`) and acts for the key's tenant; a missing, unknown or revoked key is
a 401 saying how to get one.

Key lookups are cached in the process for `KEY_CACHE_SECONDS`, so a turn does not pay a database
query for auth: a revoked key keeps working for at most that long on a server that saw it just
before, and a key created while no key existed is enforced within that long too.

`tenant_of` is a FastAPI dependency: the app applies it to every route and `deps.runtime` scopes the
runtime with it (FastAPI resolves it once per request).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Final

from fastapi import HTTPException, Request

from llm_persona.store import DEFAULT_TENANT, Store
from llm_persona.store.keys import REVOCATION_SECONDS, hash_key

#: How long a key lookup (or "this server has no keys yet") is trusted before asking the store again.
KEY_CACHE_SECONDS: Final = REVOCATION_SECONDS
#: (method, path) of routes anyone may call, key or not.
PUBLIC_ROUTES: Final = frozenset({("GET", "/v1/health/")})

_HOW_TO_GET_ONE = (
    "Create a key with `llm-persona keys create --tenant NAME` on the server's database and pass it "
    "as `Authorization: Bearer <key>` (letta-client: `Letta(api_key=...)`)."
)


class KeyCache:
    """Key -> tenant lookups against the store, each trusted for `ttl` seconds.

    Entries are keyed by the key's hash; unknown keys are cached too (as None) so that a client
    retrying a bad key does not query the store each time. At most `max_entries` are held.
    """

    def __init__(self, store: Store, *, ttl: float = KEY_CACHE_SECONDS, max_entries: int = 4096) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._tenants: dict[str, tuple[str | None, float]] = {}
        self._keys_exist = False  # once true, stays true: keys are revoked, never deleted
        self._keys_checked_until = 0.0
        self._lock = threading.Lock()

    async def auth_required(self) -> bool:
        """Whether the store has any API key (then every request must carry a live one)."""
        if self._keys_exist or time.monotonic() < self._keys_checked_until:
            return self._keys_exist
        exist = await asyncio.to_thread(self.store.has_api_keys)
        with self._lock:
            self._keys_exist = self._keys_exist or exist
            self._keys_checked_until = time.monotonic() + self.ttl
        return exist

    async def tenant_for(self, secret: str) -> str | None:
        """The tenant of a live key, or None for an unknown or revoked one."""
        digest = hash_key(secret)
        now = time.monotonic()
        cached = self._tenants.get(digest)
        if cached is not None and now < cached[1]:
            return cached[0]
        tenant = await asyncio.to_thread(self.store.tenant_for_key, secret)
        with self._lock:
            if len(self._tenants) >= self.max_entries:
                now = time.monotonic()
                self._tenants = {k: v for k, v in self._tenants.items() if now < v[1]}
                if len(self._tenants) >= self.max_entries:
                    self._tenants.clear()
            self._tenants[digest] = (tenant, time.monotonic() + self.ttl)
        return tenant


def key_cache(request: Request) -> KeyCache:
    """The app's key cache, made on first use from the runtime's store."""
    state = request.app.state
    cache: KeyCache | None = getattr(state, "api_keys", None)
    if cache is None:
        cache = state.api_keys = KeyCache(state.runtime.store)
    return cache


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _is_public(request: Request) -> bool:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return (request.method, path) in PUBLIC_ROUTES


async def tenant_of(request: Request) -> str:
    """The tenant the request acts for: its key's tenant, or "default" while no key exists.

    Raises a 401 HTTPException when keys exist and the request has no live key (public routes
    excepted: they act for "default" and never fail).
    """
    if _is_public(request):
        return DEFAULT_TENANT
    cache = key_cache(request)
    if not await cache.auth_required():
        return DEFAULT_TENANT
    token = bearer_token(request)
    if token is None:
        raise _unauthorized(f"Missing API key: this server requires one. {_HOW_TO_GET_ONE}")
    tenant = await cache.tenant_for(token)
    if tenant is None:
        raise _unauthorized(f"Invalid API key: it is unknown or was revoked. {_HOW_TO_GET_ONE}")
    return tenant
