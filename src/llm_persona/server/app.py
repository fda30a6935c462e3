"""The FastAPI application: the store opened and migrated, persona files synced, routes mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from llm_persona import __version__
from llm_persona.agents import AgentRuntime
from llm_persona.server import errors
from llm_persona.server.auth import tenant_of
from llm_persona.server.routes import ROUTERS
from llm_persona.server.settings import ServerSettings


def create_app(runtime: AgentRuntime, settings: ServerSettings | None = None) -> FastAPI:
    """An app serving `runtime` (the caller owns the runtime's store)."""
    app = FastAPI(
        title="llm-persona",
        version=__version__,
        description="Letta-compatible /v1 API with personas.",
        dependencies=[Depends(tenant_of)],  # every route checks the API key (see server/auth.py)
    )
    app.state.runtime = runtime
    app.state.settings = settings or ServerSettings()
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """The app `llm-persona serve` runs: settings from the environment, the store opened on start."""
    settings = ServerSettings.from_env()
    from llm_persona.personas.registry import PersonaRegistry
    from llm_persona.store import Store

    store = Store.open(settings.db_url)
    registry = PersonaRegistry.from_file(settings.personas) if settings.personas else None
    runtime = AgentRuntime(store, personas=registry, max_steps=settings.max_steps)
    app = create_app(runtime, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app.router.lifespan_context = lifespan
    return app
