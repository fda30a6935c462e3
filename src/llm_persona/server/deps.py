"""What route handlers receive: the runtime acting for the caller's tenant, and the store; and the
check every route applies to its path and query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from llm_persona.agents import AgentRuntime
from llm_persona.server.auth import tenant_of
from llm_persona.server.schemas.common import check_storable


async def storable_params(request: Request) -> None:
    """A 422 for a path or query parameter holding a NUL character: no id, name or search can hold
    one (PostgreSQL refuses it in text), so none reaches the store. Bodies: `RequestModel`."""
    for where, params in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in params:
            try:
                check_storable(name, f"{where} parameter {name!r}")
                check_storable(value, f"{where}.{name}")
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None


async def runtime(request: Request, tenant: Annotated[str, Depends(tenant_of)]) -> AgentRuntime:
    base: AgentRuntime = request.app.state.runtime
    return base.for_tenant(tenant)


Runtime = Annotated[AgentRuntime, Depends(runtime)]
