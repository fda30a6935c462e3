"""Runs one custom tool call in a child process started by `sandbox.SubprocessToolExecutor`.

Stdlib only, and run by file path (`python -I _runner.py`), so the child imports nothing of ours.

Usage: `python -I _runner.py RESULT_FD`, with one JSON object on stdin: {"source", "name",
"arguments", "rlimits", "return_char_limit"}. The result is one JSON line {"status": "success" |
"error", "output": str} written to the pipe RESULT_FD, never to stdout, so whatever the tool
prints cannot be mistaken for it.
"""

from __future__ import annotations

import asyncio
import faulthandler
import inspect
import io
import json
import os
import resource
import sys
import traceback
from collections.abc import Awaitable
from typing import Any

MIB = 1024 * 1024


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    request = json.loads(sys.stdin.buffer.read())
    rlimits: dict[str, list[int]] = request["rlimits"]
    apply_limits(rlimits)  # here, not in preexec_fn: that is unsafe in a threaded parent
    faulthandler.enable()  # a segfault leaves a traceback on stderr
    status, output = call(request, memory=rlimits.get("RLIMIT_AS", [0])[0])
    line = json.dumps({"status": status, "output": output}) + "\n"
    with os.fdopen(int(sys.argv[1]), "w", encoding="utf-8") as channel:
        channel.write(line)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # do not wait for threads the tool left running


def apply_limits(rlimits: dict[str, list[int]]) -> None:
    """setrlimit each `RLIMIT_*` to (soft, hard), never above a hard limit already in force."""
    for name, (soft, hard) in rlimits.items():
        kind = getattr(resource, name)
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(kind, (soft, hard))


def call(request: dict[str, Any], *, memory: int) -> tuple[str, str]:
    """Load the source, call the function with the arguments, and return (status, output)."""
    name: str = request["name"]
    namespace: dict[str, Any] = {"__name__": "__tool__"}
    try:
        exec(compile(request["source"], f"<tool {name}>", "exec"), namespace)
    except BaseException as exc:
        traceback.print_exc()
        return "error", f"The tool's source failed to load: {describe(exc, memory)}"
    function = namespace.get(name)
    if not callable(function):
        return "error", (
            f"Function `{name}` not found in the tool's source; the tool must define `def {name}(...)`."
        )
    arguments = dict(request["arguments"])
    try:
        signature = inspect.signature(function)
        if "agent_state" in signature.parameters and "agent_state" not in arguments:
            arguments["agent_state"] = None  # no agent state crosses the process boundary
        signature.bind(**arguments)
    except (TypeError, ValueError) as exc:
        return "error", f"Bad arguments for `{name}`: {exc}. Call it with the parameters in its schema."
    try:
        value = function(**arguments)
        if inspect.isawaitable(value):
            value = asyncio.run(_await(value))
    except BaseException as exc:
        tb = exc.__traceback__
        traceback.print_exception(type(exc), exc, tb.tb_next if tb else None)  # from the tool's frame
        return "error", describe(exc, memory)
    return as_text(value, int(request["return_char_limit"]))


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def describe(exc: BaseException, memory: int) -> str:
    """`ExceptionType: message`, as Letta reports a tool's exception."""
    if isinstance(exc, MemoryError) and memory:
        return f"MemoryError: the tool ran out of memory (limit {memory // MIB} MiB)"
    if isinstance(exc, SystemExit):
        return f"SystemExit: the tool called exit({exc.code!r}) instead of returning a value"
    return f"{type(exc).__name__}: {exc}"


def as_text(value: Any, limit: int) -> tuple[str, str]:
    """A str as is, a JSON-serialisable value as JSON, anything else by `str()`; cut to `limit`."""
    try:
        if isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                text = str(value)
    except Exception as exc:
        traceback.print_exc()
        return "error", (
            f"The tool returned a {type(value).__name__} that cannot be turned into text "
            f"({describe(exc, 0)}); return a str or a JSON-serialisable value."
        )
    if len(text) > limit:
        text = (
            f"{text[:limit]}... [NOTE: function output was truncated since it exceeded the character "
            f"limit ({len(text)} > {limit})]"
        )
    return "success", text


if __name__ == "__main__":
    main()
