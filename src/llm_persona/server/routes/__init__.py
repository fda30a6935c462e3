"""Route modules, one per resource; each exposes `router`."""

from fastapi import APIRouter

from llm_persona.server.routes import agents, archival, blocks, health, messages, personas, tools

ROUTERS: list[APIRouter] = [
    health.router,
    agents.router,
    messages.router,
    blocks.router,
    tools.router,
    archival.router,
    personas.router,
]
