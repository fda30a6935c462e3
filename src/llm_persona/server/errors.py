"""Errors as HTTP: `{"detail": "..."}` with the status that says who must act; never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

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


class ErrorDetail(BaseModel):
    """Every error answer: what was wrong, where, and how to fix it."""

    detail: str


#: The answers every route may give besides its own, as the OpenAPI document shows them.
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorDetail,
        "description": "Refused; `detail` says why and how to fix it. Nothing changed.",
    },
    "5XX": {"model": ErrorDetail, "description": "The model provider (502) or the database (503) failed."},
}


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
        | PersonaFileError
        | ValueError,  # a value the caller sent cannot be used (e.g. store.UnstorableValueError)
    ):
        return 422
    if isinstance(exc, AgentError | PersonaError):
        return 400
    if isinstance(exc, ModelError):
        return 502
    if isinstance(exc, StoreError):
        return 503
    return 400


#: What FastAPI answers for a body it could not read at all (its cause says why).
_UNREADABLE_BODY = "There was an error parsing the body"


def unreadable_body(cause: BaseException | None) -> str:
    """Why a body could not be read, for FastAPI's bare "There was an error parsing the body"."""
    if isinstance(cause, UnicodeDecodeError):
        return f"body: not UTF-8 (byte {cause.object[cause.start]:#04x} at {cause.start}); send JSON encoded as UTF-8."
    if isinstance(cause, RecursionError):
        return "body: objects and arrays are nested too deeply to read; flatten it."
    if isinstance(cause, ValueError):
        return f"body: not readable as JSON ({cause})."
    return "body: cannot be read; send a JSON object with Content-Type: application/json."


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
            exc = HTTPException(400, unreadable_body(exc.__cause__))
        return await http_exception_handler(request, exc)

    @app.exception_handler(LLMPersonaError)
    async def project_error(request: Request, exc: LLMPersonaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":  # loc is ("body", offset)
                reason = error.get("ctx", {}).get("error", "invalid")
                problems.append(f"body: not valid JSON ({reason} at character {error['loc'][-1]})")
                continue
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)
