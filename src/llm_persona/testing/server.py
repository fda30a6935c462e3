"""What every fake provider server shares: the script of replies, the record of requests, latency."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from llm_persona.testing._http import BackgroundHttpServer, HttpRequest, HttpResponder
from llm_persona.testing.replies import ReplyLike, ServerReply, as_reply, echo

#: Answers a request (its JSON body) when the script is empty. Runs on the server's thread.
Responder = Callable[[dict[str, Any]], ReplyLike]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received; `body` is the parsed JSON (or the raw text if it was not JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 that answers from a script, then from `responder`.

    `latency` (seconds) is waited before every answer. With `record=False` requests are not kept
    (for long benchmarks). Use it as a context manager, or call `start` and `stop`.
    """

    #: Path prefix of the API, appended to the server's address to make `base_url`.
    api_prefix = ""

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        responder: Responder = echo,
        latency: float = 0.0,
        record: bool = True,
    ) -> None:
        self._script: deque[ServerReply] = deque(as_reply(r) for r in replies)
        self._lock = threading.Lock()
        self.responder = responder
        self.latency = latency
        self.record = record
        self.requests: list[RecordedRequest] = []
        self._http = BackgroundHttpServer(self._handle)

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's address, e.g. http://127.0.0.1:54321."""
        if not self._http.running:
            raise RuntimeError(
                f"{type(self).__name__} is not running; use it in a `with` block or call start()."
            )
        return f"http://{self._http.host}:{self._http.port}"

    @property
    def base_url(self) -> str:
        """The base URL to give an SDK client."""
        return self.url + self.api_prefix

    # --- script and record ------------------------------------------------------------------------

    def add(self, *replies: ReplyLike) -> None:
        """Append replies to the script; each answers one model request, in order."""
        with self._lock:
            self._script.extend(as_reply(r) for r in replies)

    @property
    def remaining(self) -> int:
        """Scripted replies not used yet."""
        return len(self._script)

    @property
    def last_body(self) -> Any:
        """The JSON body of the last request received."""
        if not self.requests:
            raise AssertionError(f"{type(self).__name__} has received no request.")
        return self.requests[-1].body

    def bodies(self, path: str) -> list[Any]:
        """The bodies of the requests received at `path` (e.g. "/v1/chat/completions"), in order."""
        return [r.body for r in self.requests if r.path == path]

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        with self._lock:
            self._script.clear()
        self.requests.clear()

    def next_reply(self, body: dict[str, Any]) -> ServerReply:
        """The scripted reply for a model request, or the responder's if the script is empty."""
        with self._lock:
            if self._script:
                return self._script.popleft()
        return as_reply(self.responder(body))

    async def wait(self, reply: ServerReply) -> None:
        """Sleep for the server latency plus the reply's own delay."""
        seconds = self.latency + reply.delay
        if seconds > 0:
            await asyncio.sleep(seconds)

    # --- serving ----------------------------------------------------------------------------------

    async def _handle(self, request: HttpRequest, responder: HttpResponder) -> None:
        try:
            body = request.json()
        except ValueError:
            body = request.body.decode("utf-8", "replace")
        if self.record:
            self.requests.append(RecordedRequest(request.method, request.path, request.headers, body))
        await self.route(request, body, responder)

    async def route(self, request: HttpRequest, body: Any, responder: HttpResponder) -> None:
        """Answer `request`; subclasses speak their provider's protocol."""
        raise NotImplementedError


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying `data` as JSON (or as-is if it is text)."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()
