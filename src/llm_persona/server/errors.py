"""Errors as HTTP: `{"detail": "..."}` with the status that says who must act; never a 500 for bad input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from llm_persona.errors import (
    AgentError,
    BlockLimitError,
    ConflictError,
    InheritanceError,
    LLMPersonaError,
    MissingVariablesError,
    ModelError,
    PersonaDefinitionError,
    PersonaError,
    PersonaFileError,
    ReadOnlyBlockError,
    StoreError,
)


def status_for(exc: LLMPersonaError) -> int:
    if isinstance(exc, LookupError) and not isinstance(exc, MissingVariablesError):  # that one is a KeyError
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ReadOnlyBlockError):
        return 403
    if isinstance(
        exc,
        BlockLimitError
        | MissingVariablesError
        | PersonaDefinitionError
        | InheritanceError
        | PersonaFileError,
    ):
        return 422
    if isinstance(exc, AgentError | PersonaError):
        return 400
    if isinstance(exc, ModelError):
        return 502
    if isinstance(exc, StoreError):
        return 503
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(LLMPersonaError)
    async def project_error(request: Request, exc: LLMPersonaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)
