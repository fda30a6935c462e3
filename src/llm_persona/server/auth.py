"""Who is calling: the tenant a request acts for. Without API keys everything is tenant "default"."""

from __future__ import annotations

from fastapi import Request

from llm_persona.store import DEFAULT_TENANT


def tenant_of(request: Request) -> str:
    """The tenant of the request's API key (keys are not configured yet: always the default tenant)."""
    return DEFAULT_TENANT
