"""A limit on the size of request bodies: a larger body is a 413 `{"detail"}`, refused before it is
read whole (at once when its Content-Length says so, else as soon as the bytes received pass it).

FastAPI's own `max_body_size` answers a declared oversized body in plain text; this keeps every
error answer JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: bodies up to `max_bytes`, or `larger[path]` for the paths listed there."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        detail = (
            f"The request body is over {limit} bytes, the most this server accepts for "
            f"{scope['method']} {scope['path']}; send a smaller one."
        )
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # FastAPI passes an HTTPException on to the app's handler
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited, send)
