"""`llm-persona chat AGENT`: talk to an agent on a running server, over its HTTP API.

A read-eval-print loop: each line goes to the agent as a user message, and its reply streams in as
the model writes it (`POST /v1/agents/{id}/messages/stream` with `stream_tokens`). Tool calls and
their results show as one dim line each, and the stop reason after each turn. `/memory` prints the
agent's core memory blocks, `/help` the commands; `/exit` or Ctrl-D leaves. An error from the server
is one red line, and the loop goes on; one that stops the chat before it starts (no such agent, no
server) exits with status 1.

It is a client like any other, so it talks HTTP (httpx) and never imports the server.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import quote

import typer
from rich.console import Console
from rich.text import Text

from llm_persona.cli._shared import err, fail, out

if TYPE_CHECKING:
    import httpx

DEFAULT_URL: Final = "http://127.0.0.1:8283"
PROMPT: Final = "you> "
#: Seconds to wait for the server to connect or answer; a stream may be quiet between pings (30 s).
CONNECT_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 120.0
#: Characters of a tool call or result shown on its line.
SNIPPET: Final = 100

HELP = "Commands: /memory shows the agent's core memory, /help this list, /exit (or Ctrl-D) leaves."


class ServerError(Exception):
    """A request the server refused or could not be sent; `str()` is one line for the user."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status


# --- HTTP -------------------------------------------------------------------------------------------


def _detail(response: httpx.Response) -> str:
    """The `detail` of an error response, else its text, else its status."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    detail = data.get("detail", data) if isinstance(data, dict) else data
    return detail if isinstance(detail, str) else json.dumps(detail)


class Api:
    """The server's `/v1` API, as far as the chat needs it."""

    def __init__(self, url: str, api_key: str | None) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=f"{self.url}/v1",
            headers=headers,
            timeout=httpx.Timeout(CONNECT_TIMEOUT, read=READ_TIMEOUT),
        )

    def close(self) -> None:
        self.http.close()

    @contextlib.contextmanager
    def _request(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        import httpx

        try:
            with self.http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ServerError(_detail(response), response.status_code)
                yield response
        except httpx.TimeoutException as exc:
            raise ServerError(f"The server at {self.url} did not answer in time ({exc}).") from exc
        except httpx.TransportError as exc:
            raise ServerError(
                f"Cannot reach the server at {self.url} ({exc}). Start it with `llm-persona serve`, "
                "or point --url at it."
            ) from exc

    def get(self, path: str, **params: Any) -> Any:
        with self._request("GET", path, params=params) as response:
            response.read()
            return response.json()

    def agent(self, ref: str) -> dict[str, Any]:
        """The agent named `ref`, else the agent with id `ref`; a ServerError if neither exists."""
        named = self.get("/agents/", name=ref, limit=10)
        if len(named) == 1:
            return dict(named[0])
        if named:
            ids = ", ".join(a["id"] for a in named)
            raise ServerError(f"Several agents are named {ref!r} ({ids}); pass the id of the one you mean.")
        try:
            return dict(self.get(f"/agents/{quote(ref, safe='')}"))
        except ServerError as exc:
            if exc.status != 404:
                raise
        raise ServerError(
            f"No agent named {ref!r} or with that id at {self.url}. List them with "
            f"`curl {self.url}/v1/agents/`, or create one on the web page at {self.url}/.",
            404,
        )

    def blocks(self, agent_id: str) -> list[dict[str, Any]]:
        return list(
            self.get(f"/agents/{quote(agent_id, safe='')}/core-memory/blocks", order="asc", limit=100)
        )

    def stream(self, agent_id: str, text: str) -> Iterator[tuple[str, str]]:
        """The SSE events of a turn, as (event, data), up to `[DONE]` (not included)."""
        body = {"input": text, "stream_tokens": True}
        path = f"/agents/{quote(agent_id, safe='')}/messages/stream"
        with self._request("POST", path, json=body, headers={"Accept": "text/event-stream"}) as response:
            for event, data in sse_events(response.iter_lines()):
                if data == "[DONE]":
                    return
                yield event, data
        raise ServerError(
            "The stream ended before the turn finished; /memory and the history show what was kept."
        )


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Server-sent events from their lines, as (event name, data); events without data are skipped."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


# --- output -----------------------------------------------------------------------------------------


def error_line(message: str) -> None:
    """`message` as one red line on stderr."""
    text = Text("Error: ", style="bold red")
    text.append(" ".join(message.split()), style="red")
    err().print(text)


def clip(text: str, length: int = SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def call_text(name: str, arguments: str) -> str:
    """`name(key="value", ...)` from JSON arguments (as they are when they are not a JSON object)."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        arguments = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in parsed.items())
    return clip(f"{name}({arguments})")


@dataclass
class _Call:
    name: str = ""
    arguments: str = ""


@dataclass
class TurnPrinter:
    """Prints one turn's stream: assistant text as it arrives, a line per tool call and result."""

    console: Console
    agent_name: str
    _text_id: str | None = None  # the assistant message whose text is being printed
    _mid_line: bool = False
    _calls: dict[str, list[_Call]] = field(default_factory=dict)  # message id -> its tool calls
    _stop: str | None = None

    def event(self, name: str, data: str) -> None:
        try:
            chunk = json.loads(data)
        except ValueError:
            self.failure(f"The server sent something that is not JSON: {clip(data)}")
            return
        if name == "error":
            self.failure(str(chunk.get("detail") or chunk.get("message") or "The turn failed."))
            return
        kind = chunk.get("message_type")
        if kind == "assistant_message":
            self._assistant(chunk)
        elif kind == "tool_call_message":
            self._tool_call(chunk)
        else:
            self._flush_calls()
            if kind == "tool_return_message":
                ok = chunk.get("status") != "error"
                result = clip(str(chunk.get("tool_return") or "")) or "(empty)"
                self._line(Text(f"  ← {'ok' if ok else 'error'}: {result}", style="dim" if ok else "yellow"))
            elif kind == "reasoning_message":
                self._line(
                    Text(f"  (thinking) {clip(str(chunk.get('reasoning') or ''))}", style="dim italic")
                )
            elif kind == "stop_reason":
                self._stop = str(chunk.get("stop_reason"))
            elif kind == "usage_statistics":
                steps = int(chunk.get("step_count") or 0)
                tokens = int(chunk.get("total_tokens") or 0)
                summary = (
                    f"[{self._stop or 'done'} · {steps} step{'s' if steps != 1 else ''} · {tokens:,} tokens]"
                )
                self._line(Text(summary, style="dim"))
            # pings and message types this client does not know are skipped

    def failure(self, message: str) -> None:
        self._flush_calls()
        self._end_line()
        error_line(message)

    def finish(self) -> None:
        """After the stream: print what is pending; a stop reason without usage (an error) too."""
        self._flush_calls()
        self._end_line()

    def _assistant(self, chunk: dict[str, Any]) -> None:
        content = chunk.get("content")
        text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content or ())
        if chunk.get("id") != self._text_id:
            self._flush_calls()
            self._end_line()
            self._text_id = chunk.get("id")
            self.console.print(Text(f"{self.agent_name}> ", style="bold cyan"), end="")
            self._mid_line = True
        self.console.print(Text(text), end="")
        self._mid_line = True

    def _tool_call(self, chunk: dict[str, Any]) -> None:
        calls = self._calls.setdefault(str(chunk.get("id")), [])
        whole = chunk.get("tool_calls")
        if isinstance(whole, list):  # a whole message (not token streaming)
            calls.extend(_Call(c.get("name") or "", c.get("arguments") or "") for c in whole)
            return
        delta = chunk.get("tool_call") or {}
        if not calls or delta.get("tool_call_id"):
            calls.append(_Call())
        calls[-1].name += delta.get("name") or ""
        calls[-1].arguments += delta.get("arguments") or ""

    def _flush_calls(self) -> None:
        for calls in self._calls.values():
            for call in calls:
                self._line(Text(f"  → {call_text(call.name, call.arguments)}", style="dim"))
        self._calls.clear()

    def _end_line(self) -> None:
        if self._mid_line:
            self.console.print()
            self._mid_line = False
        self._text_id = None

    def _line(self, text: Text) -> None:
        self._end_line()
        self.console.print(text)


def print_memory(console: Console, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        console.print(Text("This agent has no core memory blocks.", style="dim"))
        return
    for block in blocks:
        value = str(block.get("value") or "")
        head = Text(str(block.get("label")), style="bold")
        head.append(f"  {len(value):,}/{int(block.get('limit') or 0):,} characters", style="dim")
        if block.get("read_only"):
            head.append("  read-only", style="yellow")
        if block.get("description"):
            head.append(f"  {block['description']}", style="dim")
        console.print(head)
        lines = value.splitlines() or [""]
        for line in lines:
            console.print(Text(f"  {line}") if value else Text("  (empty)", style="dim"))


# --- the command ------------------------------------------------------------------------------------


def _read_line() -> str | None:
    """A line typed by the user; None at end of input (Ctrl-D) or on Ctrl-C."""
    try:
        return input(PROMPT)
    except (EOFError, KeyboardInterrupt):
        out().print()
        return None


def _turn(api: Api, agent: dict[str, Any], text: str, console: Console) -> None:
    printer = TurnPrinter(console, str(agent["name"]))
    try:
        for event, data in api.stream(str(agent["id"]), text):
            printer.event(event, data)
    except ServerError as exc:
        printer.failure(str(exc))
    except KeyboardInterrupt:
        printer.finish()
        console.print(
            Text("Stopped reading. The turn goes on on the server; /memory shows its effects.", style="dim")
        )
    else:
        printer.finish()


def chat(
    agent: Annotated[
        str, typer.Argument(metavar="AGENT", help="The agent's id or name.", show_default=False)
    ],
    url: Annotated[
        str, typer.Option(envvar="LLM_PERSONA_URL", help="The server's base URL (`llm-persona serve`).")
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="LLM_PERSONA_API_KEY",
            help="API key, once the server has keys (`llm-persona keys create`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Chat with an agent on a running server: replies stream in as they are written."""
    api = Api(url, api_key)
    try:
        try:
            found = api.agent(agent)
        except ServerError as exc:
            fail(str(exc))
        console = out()
        persona = f" · persona {found['persona']}" if found.get("persona") else ""
        console.print(
            Text(
                f"Chatting with {found['name']} ({found['id']}){persona} · model {found.get('model')}",
                style="bold",
            )
        )
        console.print(Text(HELP, style="dim"))
        if sys.stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        while (line := _read_line()) is not None:
            text = line.strip()
            if not text:
                continue
            command = text.split()[0].lower()
            if command in ("/exit", "/quit"):
                break
            if command == "/memory":
                try:
                    print_memory(console, api.blocks(str(found["id"])))
                except ServerError as exc:
                    error_line(str(exc))
            elif command == "/help":
                console.print(Text(HELP, style="dim"))
            elif text.startswith("/"):
                error_line(f"Unknown command {command}. {HELP}")
            else:
                _turn(api, found, line, console)
    finally:
        api.close()


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
