"""`llm-persona serve`: the REST server (Letta's /v1 API plus persona routes) on uvicorn."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from llm_persona.cli._shared import fail
from llm_persona.cli.db import DB_OPTION


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8283,
    db: Annotated[str | None, DB_OPTION] = None,
    personas: Annotated[
        str | None,
        typer.Option(
            "--personas",
            envvar="LLM_PERSONA_PERSONAS",
            help="Persona file or folder to load (new versions on change).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port and the database (one process uses one core; "
            "requests for one agent stay queued across them).",
        ),
    ] = 1,
) -> None:
    """Serve agents over HTTP. Migrations run and persona files sync on start."""
    import uvicorn

    if db:
        os.environ["LLM_PERSONA_DB_URL"] = db
    if personas:
        os.environ["LLM_PERSONA_PERSONAS"] = personas
    if workers > 1 or not _is_loopback(host):
        from llm_persona.store import Store

        with Store.open(db) as store:  # migrates here, once, not in each worker at the same moment
            if not _is_loopback(host) and not store.has_api_keys():
                fail(
                    f"Refusing to listen on {host}: no API keys exist, so anyone who can reach it could use "
                    "your agents. Create one with `llm-persona keys create`, or listen on 127.0.0.1."
                )
    uvicorn.run(
        "llm_persona.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        workers=workers,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
