"""Server settings, read from the environment so `llm-persona serve` (and any ASGI runner) can pass them."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    db_url: str | None = None  # None: the store's default (SQLite file under ~/.llm-persona)
    personas: str | None = None  # a persona file or folder, synced into the store on start
    max_steps: int = 10
    ping_interval: float = 30.0  # seconds a stream may stay silent before a keep-alive ping
    max_body_bytes: int = 16 * 1024 * 1024  # a larger request body is a 413 (agent files: 50 MiB)

    @classmethod
    def from_env(cls) -> ServerSettings:
        return cls(
            db_url=os.environ.get("LLM_PERSONA_DB_URL") or None,
            personas=os.environ.get("LLM_PERSONA_PERSONAS") or None,
            max_steps=int(os.environ.get("LLM_PERSONA_MAX_STEPS", "10")),
            ping_interval=float(os.environ.get("LLM_PERSONA_PING_INTERVAL", "30")),
            max_body_bytes=int(os.environ.get("LLM_PERSONA_MAX_BODY_BYTES", str(16 * 1024 * 1024))),
        )
