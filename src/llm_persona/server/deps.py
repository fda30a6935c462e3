"""What route handlers receive: the runtime acting for the caller's tenant, and the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from llm_persona.agents import AgentRuntime
from llm_persona.server.auth import tenant_of


async def runtime(request: Request, tenant: Annotated[str, Depends(tenant_of)]) -> AgentRuntime:
    base: AgentRuntime = request.app.state.runtime
    return base.for_tenant(tenant)


Runtime = Annotated[AgentRuntime, Depends(runtime)]
