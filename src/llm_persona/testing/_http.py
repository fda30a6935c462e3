"""A small HTTP/1.1 server on asyncio, run in a background thread with its own event loop.

Just enough HTTP for fake provider servers: keep-alive, Content-Length and chunked bodies, chunked
streaming answers, and cutting a connection on purpose. Raw asyncio keeps it light enough to
serve a thousand concurrent clients from inside the process under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_MAX_HEAD = 1 << 20


@dataclass(frozen=True)
class HttpRequest:
    """One request as received; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


class HttpResponder:
    """Writes the answer to one request: whole, streamed in chunks, or not at all (`drop`)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.started = False
        self.finished = False
        self.dropped = False

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """A complete answer with a Content-Length."""
        extra = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        self._writer.write(self._head(status, extra) + body)
        self.finished = True
        await self._writer.drain()

    async def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        await self.send(status, json.dumps(data).encode(), headers=headers)

    async def start_stream(
        self,
        status: int = 200,
        *,
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Begin a chunked answer; follow with `write` calls and `end`."""
        extra = {"Content-Type": content_type, "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"}
        self._writer.write(self._head(status, {**extra, **(headers or {})}))
        await self._writer.drain()

    async def write(self, data: bytes) -> None:
        """One chunk of a streamed answer."""
        if data:
            self._writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self._writer.drain()

    async def end(self) -> None:
        """Finish a streamed answer."""
        self._writer.write(b"0\r\n\r\n")
        self.finished = True
        await self._writer.drain()

    def drop(self) -> None:
        """Cut the connection now, mid-answer if one was started."""
        self.dropped = True
        self._writer.transport.abort()

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        self.started = True
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        return "\r\n".join(lines).encode("latin-1")


Handler = Callable[[HttpRequest, HttpResponder], Awaitable[None]]


class BackgroundHttpServer:
    """Serves `handler` on 127.0.0.1 (a free port unless given) from a daemon thread."""

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        started: list[BaseException | None] = []
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._connected, self.host, self.port, backlog=4096, limit=_MAX_HEAD)
                )
                self.port = self._server.sockets[0].getsockname()[1]
                started.append(None)
            except BaseException as exc:
                started.append(exc)
                return
            finally:
                ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"{type(self).__name__}-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if started[0] is not None:
            self._thread.join()
            self._thread = None
            loop.close()
            raise started[0]

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is None:
            return
        # Let connections accepted just now reach their handler first: asyncio (3.11) leaks the socket
        # of a connection accepted but not yet set up when the server closes. No await between the
        # last check and close(), so no accept slips in between.
        this = asyncio.current_task()
        for _ in range(100):
            if all(t is this or t in self._connections for t in asyncio.all_tasks()):
                break
            await asyncio.sleep(0)
        self._server.close()
        connections = dict(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        for writer in connections.values():
            writer.close()  # also for a handler cancelled before it ever ran
        for _ in range(3):
            await asyncio.sleep(0)  # closing transports close their sockets

    def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Called as each connection is made: register its handler task at once, so shutdown finds it."""
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._connections[task] = writer
        task.add_done_callback(lambda done: self._connections.pop(done, None))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request, keep_alive = await _read_request(reader, writer)
                if request is None:
                    break
                responder = HttpResponder(writer)
                try:
                    await self._handler(request, responder)
                except ConnectionError:
                    break  # the client left (e.g. its timeout) while we were answering
                except Exception:
                    log.exception("fake server handler failed on %s %s", request.method, request.path)
                    if not responder.started:
                        await responder.send_json(500, {"error": {"message": "fake server handler failed"}})
                    else:
                        responder.drop()
                if responder.dropped or not keep_alive or not responder.finished:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent something that is not HTTP: close the connection
        except asyncio.CancelledError:
            pass  # server shutdown; ending quietly keeps asyncio from logging the cancelled task
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()  # the socket is really closed before the loop may stop


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[HttpRequest | None, bool]:
    """The next request on a connection, and whether to keep the connection; (None, False) at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None, False
    request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, target, version = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length") or 0))
    path, _, query = target.partition("?")
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return HttpRequest(method.upper(), path, query, headers, body), keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
