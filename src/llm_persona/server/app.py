"""The FastAPI application: the store opened and migrated, persona files synced, routes mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from llm_persona import __version__
from llm_persona.agents import AgentRuntime
from llm_persona.server import errors
from llm_persona.server.auth import tenant_of
from llm_persona.server.body_limit import BodyLimit
from llm_persona.server.deps import storable_params
from llm_persona.server.routes import ROUTERS
from llm_persona.server.routes.agents import MAX_AGENT_FILE_BYTES
from llm_persona.server.settings import ServerSettings
from llm_persona.web import INDEX_HTML, STATIC_DIR, STATIC_PREFIX

#: Headers of the web page: it may load only its own files and call only this server.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def create_app(runtime: AgentRuntime, settings: ServerSettings | None = None) -> FastAPI:
    """An app serving `runtime` (the caller owns the runtime's store)."""
    settings = settings or ServerSettings()
    app = FastAPI(
        title="llm-persona",
        version=__version__,
        description="Letta-compatible /v1 API with personas.",
        # every route checks the API key (see server/auth.py), then that no parameter holds a NUL
        dependencies=[Depends(tenant_of), Depends(storable_params)],
    )
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, larger={"/v1/agents/import": MAX_AGENT_FILE_BYTES}
    )
    app.state.runtime = runtime
    app.state.settings = settings
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=errors.RESPONSES)
    _mount_page(app)
    return app


class _PageFiles(StaticFiles):
    """The page's files, revalidated (ETag) on every load, so an upgraded server never runs stale code."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _mount_page(app: FastAPI) -> None:
    """The web page at `/`, its files under `/web/`. Both are public (plain Starlette routes, outside
    the API-key dependency): they hold no data; the page asks the API for it with the user's key."""

    async def page(request: Request) -> FileResponse:
        return FileResponse(INDEX_HTML, headers=PAGE_HEADERS)

    app.add_route("/", page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(STATIC_PREFIX, _PageFiles(directory=STATIC_DIR), name="web")


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
            await runtime.aclose()
            store.close()

    app.router.lifespan_context = lifespan
    return app
