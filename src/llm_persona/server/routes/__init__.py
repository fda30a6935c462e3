"""Route modules, one per resource; each exposes `router`."""

from fastapi import APIRouter

from llm_persona.server.routes import health

ROUTERS: list[APIRouter] = [health.router]
