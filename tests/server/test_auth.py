"""API keys on the server: open while the store has none; once it has one, every route but health needs a
live key and acts for the key's tenant, and tenants never see (or learn of) each other's objects."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from letta_client import AuthenticationError, Letta, NotFoundError

from llm_persona.server.app import create_app
from llm_persona.server.auth import PUBLIC_ROUTES, KeyCache
from llm_persona.server.deps import Runtime
from llm_persona.store import Store

from .conftest import Running

# Routes that exist only in these tests: one scoped through deps.runtime, one that forgets it.
probe = APIRouter(prefix="/v1/_probe")


@probe.get("/whoami")
async def whoami(runtime: Runtime) -> dict[str, str]:
    return {"tenant": runtime.tenant}


@probe.get("/unscoped")
async def unscoped() -> dict[str, str]:
    return {"ok": "yes"}


def app_of(running: Running) -> FastAPI:
    app = running.server.config.app
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def server(running: Running) -> Running:
    app_of(running).include_router(probe)
    return running


def sdk(running: Running, api_key: str | None) -> Letta:
    return Letta(base_url=running.url, api_key=api_key, _strict_response_validation=True, max_retries=0)


def whoami_as(running: Running, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.get(f"{running.url}/v1/_probe/whoami", headers=headers)


# --- no keys: open, everything is tenant "default" ------------------------------------------------


def test_without_keys_every_request_is_the_default_tenant(server: Running) -> None:
    assert whoami_as(server, None).json() == {"tenant": "default"}
    assert whoami_as(server, "anything-the-client-sends").json() == {"tenant": "default"}
    with sdk(server, None) as client:
        assert client.get("/v1/_probe/whoami", cast_to=object) == {"tenant": "default"}


# --- keys: required, and they pick the tenant -----------------------------------------------------


def test_a_key_acts_for_its_tenant(server: Running, store: Store) -> None:
    _, acme = store.create_api_key("acme")
    _, globex = store.create_api_key("globex", "ci")
    with sdk(server, acme) as a, sdk(server, globex) as g:
        assert a.get("/v1/_probe/whoami", cast_to=object) == {"tenant": "acme"}
        assert g.get("/v1/_probe/whoami", cast_to=object) == {"tenant": "globex"}
        assert a.health().status == "ok"


def test_health_stays_public_with_keys(server: Running, store: Store) -> None:
    store.create_api_key("acme")
    with sdk(server, None) as anonymous, sdk(server, "lp-not-a-real-key") as wrong:
        assert anonymous.health().status == "ok"
        assert wrong.health().status == "ok"


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "Missing API key"),
        ({"Authorization": "Bearer lp-not-a-real-key"}, "unknown or was revoked"),
        ({"Authorization": "Bearer something-else"}, "unknown or was revoked"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Missing API key"),
        ({"Authorization": "Bearer"}, "Missing API key"),
    ],
)
def test_a_request_without_a_live_key_is_a_401_saying_how_to_get_one(
    server: Running, store: Store, headers: dict[str, str], says: str
) -> None:
    store.create_api_key("acme")
    response = httpx.get(f"{server.url}/v1/_probe/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    detail = response.json()["detail"]
    assert says in detail
    assert "llm-persona keys create --tenant NAME" in detail
    assert "Authorization: Bearer <key>" in detail


def test_the_sdk_sees_a_401_as_an_authentication_error(server: Running, store: Store) -> None:
    _, key = store.create_api_key("acme")
    with sdk(server, None) as client, pytest.raises(AuthenticationError) as raised:
        client.get("/v1/_probe/whoami", cast_to=object)
    assert raised.value.status_code == 401
    store.revoke_api_key(store.list_api_keys()[0].id)
    with sdk(server, key) as client, pytest.raises(AuthenticationError):
        client.get("/v1/_probe/whoami", cast_to=object)


def test_a_route_that_does_not_ask_for_the_runtime_is_guarded_too(server: Running, store: Store) -> None:
    _, key = store.create_api_key("acme")
    assert httpx.get(f"{server.url}/v1/_probe/unscoped").status_code == 401
    ok = httpx.get(f"{server.url}/v1/_probe/unscoped", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_of_the_app_but_health_needs_a_key(server: Running, store: Store) -> None:
    """A sweep of the real app's routes (from its OpenAPI schema): routes added later are covered too."""
    store.create_api_key("acme")
    paths = create_app(server.runtime).openapi()["paths"]
    operations = [(method.upper(), path) for path, item in paths.items() for method in item]
    assert ("GET", "/v1/health/") in operations
    for method, path in operations:
        response = httpx.request(method, f"{server.url}{_concrete(path)}", json={})
        expected = 200 if (method, path) in PUBLIC_ROUTES else 401
        assert response.status_code == expected, (method, path, response.text)


# --- the cache: fast, yet revocation takes effect within its TTL ------------------------------------


def _count_calls(monkeypatch: pytest.MonkeyPatch, store: Store, name: str) -> list[Any]:
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(store, name)

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(store, name, counting)
    return calls


def test_lookups_are_cached_so_requests_do_not_query_the_store(
    server: Running, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = store.create_api_key("acme")
    lookups = _count_calls(monkeypatch, store, "tenant_for_key")
    checks = _count_calls(monkeypatch, store, "has_api_keys")
    with sdk(server, key) as client:
        for _ in range(20):
            assert client.get("/v1/_probe/whoami", cast_to=object) == {"tenant": "acme"}
    assert len(lookups) == 1
    assert len(checks) == 1


def test_unknown_keys_are_cached_too(server: Running, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.create_api_key("acme")
    lookups = _count_calls(monkeypatch, store, "tenant_for_key")
    for _ in range(5):
        assert whoami_as(server, "lp-guess").status_code == 401
    assert len(lookups) == 1


def test_a_revoked_key_is_refused_once_the_cache_ttl_has_passed(server: Running, store: Store) -> None:
    ttl = 1.0
    app_of(server).state.api_keys = KeyCache(store, ttl=ttl)
    record, key = store.create_api_key("acme")
    assert whoami_as(server, key).status_code == 200
    cached_at = time.monotonic()
    store.revoke_api_key(record.id)
    still = whoami_as(server, key)
    if time.monotonic() - cached_at < ttl * 0.9:  # documented: a revoked key may live out the TTL
        assert still.status_code == 200
    time.sleep(max(0.0, cached_at + ttl - time.monotonic()) + 0.05)
    assert whoami_as(server, key).status_code == 401


def test_the_first_key_is_enforced_within_the_ttl_on_a_running_server(server: Running, store: Store) -> None:
    ttl = 0.3
    app_of(server).state.api_keys = KeyCache(store, ttl=ttl)
    assert whoami_as(server, None).status_code == 200
    _, key = store.create_api_key("acme")
    time.sleep(ttl + 0.05)
    assert whoami_as(server, None).status_code == 401
    assert whoami_as(server, key).json() == {"tenant": "acme"}


def test_revoking_every_key_does_not_open_the_server(server: Running, store: Store) -> None:
    record, key = store.create_api_key("acme")
    store.revoke_api_key(record.id)
    app_of(server).state.api_keys = KeyCache(store, ttl=0.0)
    assert whoami_as(server, None).status_code == 401
    assert whoami_as(server, key).status_code == 401


def test_the_cache_stays_bounded(store: Store) -> None:
    store.create_api_key("acme")
    cache = KeyCache(store, max_entries=8)

    async def guess_many() -> None:
        for i in range(50):
            assert await cache.tenant_for(f"lp-guess-{i}") is None
            assert len(cache._tenants) <= 8

    asyncio.run(guess_many())


# --- isolation between tenants, through the SDK ------------------------------------------------------


@pytest.fixture
def two_tenants(server: Running, store: Store) -> Iterator[tuple[Letta, Letta]]:
    _, key_a = store.create_api_key("tenant-a")
    _, key_b = store.create_api_key("tenant-b")
    with sdk(server, key_a) as a, sdk(server, key_b) as b:
        yield a, b


def _not_found(call: Callable[[str], object], object_id: str) -> str:
    """The detail of the 404 `call(object_id)` must raise: ours, not the route table's "Not Found"."""
    with pytest.raises(NotFoundError) as raised:
        call(object_id)
    assert raised.value.status_code == 404
    body = raised.value.body
    assert isinstance(body, dict)
    detail = str(body["detail"])
    assert detail != "Not Found", "the route is not mounted"
    return detail


WEATHER = '''def lookup(q: str) -> str:
    """Find q.

    Args:
        q: what to find.
    """
    return q
'''


def test_tenants_cannot_see_or_touch_each_others_objects(two_tenants: tuple[Letta, Letta]) -> None:
    a, b = two_tenants
    agent = a.agents.create(name="maya", model="openai/gpt-4o-mini")
    block = a.blocks.create(label="policies", value="Refunds under $50.")
    tool = a.tools.create(source_code=WEATHER)
    passage = a.agents.passages.create(agent.id, text="Bo's order 42 was delayed.")[0]
    own = b.agents.create(name="mine", model="openai/gpt-4o-mini")

    # B lists none of them ...
    assert [x.id for x in b.agents.list()] == [own.id]
    assert block.id not in [x.id for x in b.blocks.list()]
    assert tool.id not in [x.id for x in b.tools.list()]
    assert b.agents.passages.list(own.id) == []
    # ... and each id is a 404 that reads exactly like one for an id that never existed
    probes: list[tuple[Callable[[str], object], str, str]] = [
        (lambda i: b.agents.retrieve(i), agent.id, "agent-00000000-0000-4000-8000-000000000000"),
        (lambda i: b.agents.passages.list(i), agent.id, "agent-00000000-0000-4000-8000-000000000000"),
        (lambda i: b.agents.delete(i), agent.id, "agent-00000000-0000-4000-8000-000000000000"),
        (lambda i: b.blocks.retrieve(i), block.id, "block-00000000-0000-4000-8000-000000000000"),
        (lambda i: b.blocks.delete(i), block.id, "block-00000000-0000-4000-8000-000000000000"),
        (
            lambda i: b.agents.blocks.attach(i, agent_id=own.id),
            block.id,
            "block-00000000-0000-4000-8000-000000000000",
        ),
        (lambda i: b.tools.retrieve(i), tool.id, "tool-00000000-0000-4000-8000-000000000000"),
        (lambda i: b.tools.delete(i), tool.id, "tool-00000000-0000-4000-8000-000000000000"),
        (
            lambda i: b.agents.tools.attach(i, agent_id=own.id),
            tool.id,
            "tool-00000000-0000-4000-8000-000000000000",
        ),
        (
            lambda i: b.agents.passages.delete(i, agent_id=own.id),
            passage.id,
            "passage-00000000-0000-4000-8000-000000000000",
        ),
    ]
    for call, real, never in probes:
        seen = _not_found(call, real).replace(real, "ID")
        assert seen == _not_found(call, never).replace(never, "ID")
        assert "tenant-a" not in seen

    # A still sees all of them, untouched
    assert [x.id for x in a.agents.list()] == [agent.id]
    assert a.blocks.retrieve(block.id).value == "Refunds under $50."
    assert a.tools.retrieve(tool.id).name == "lookup"
    assert [p.id for p in a.agents.passages.list(agent.id)] == [passage.id]


def test_the_servers_persona_file_serves_every_tenant(two_tenants: tuple[Letta, Letta]) -> None:
    a, b = two_tenants
    for client in (a, b):  # each tenant's first request records the server's personas for it
        personas = client.get("/v1/personas", cast_to=object)
        assert isinstance(personas, list)
        assert [p["name"] for p in personas] == ["Maya"]
        agent = client.agents.create(
            name="maya", extra_body={"persona": "Maya", "persona_vars": {"user_name": "Bo"}}
        )
        assert "The customer is Bo." in agent.system
