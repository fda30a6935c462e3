"""`GET /v1/health/`."""

from __future__ import annotations

from fastapi import APIRouter

from llm_persona.server import convert
from llm_persona.server.schemas import Health

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health/", response_model=Health)
async def health() -> Health:
    return convert.health()
