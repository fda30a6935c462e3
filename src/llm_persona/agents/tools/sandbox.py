"""Run custom tools outside the server process: one short-lived Python child per call.

    executor = SubprocessToolExecutor()
    outcome = await executor.run(source_code, "roll_dice", {"sides": 6}, timeout=10)
    outcome.status, outcome.output  # ("success", "4"), or ("error", "ValueError: ...")

Each call gets `python -I` (isolated: no PYTHON* variables, no user site, no script dir on sys.path),
a fresh temporary directory as cwd and HOME, an environment of PATH and LANG only (no API keys, no
database URLs), resource limits (CPU, memory, file size, open files), and its own process group,
killed whole when the call ends or times out. Whatever goes wrong in the child (an exception, a
hang, a crash, too much memory or output) comes back as an error outcome the model can act on.

This contains mistakes, not attackers: the tool still runs as the server's user and can read what
that user can read. Run the server under a dedicated user or in a container for untrusted code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from llm_persona.store.records import DEFAULT_RETURN_CHAR_LIMIT

MIB = 1024 * 1024
RUNNER = str(Path(__file__).with_name("_runner.py"))
_CHUNK = 64 * 1024
_DRAIN_GRACE = 2.0  # seconds to finish reading pipes once the process group is dead


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call produced: `output` goes back to the model; stdout/stderr are for logs."""

    status: Literal["success", "error"]
    output: str
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0


class ToolExecutor(Protocol):
    """Runs the function `name` defined in `source_code` with keyword `arguments`."""

    async def run(
        self,
        source_code: str,
        name: str,
        arguments: dict[str, Any],
        *,
        timeout: float = 30.0,
        return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT,
    ) -> ToolOutcome: ...


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one tool process (`setrlimit`); None leaves a limit as inherited.

    `processes` (RLIMIT_NPROC) is off by default: Linux counts every process and thread of the
    server's user against it, not just the tool's, so a safe value depends on the deployment.
    """

    cpu_seconds: int | None = 30
    memory_bytes: int | None = 512 * MIB
    file_size_bytes: int | None = 64 * MIB
    open_files: int | None = 256
    processes: int | None = None

    def rlimits(self) -> dict[str, tuple[int, int]]:
        """`RLIMIT_*` name -> (soft, hard); the CPU hard limit is a second later (SIGXCPU, then KILL)."""
        out = {"RLIMIT_CORE": (0, 0)}  # a crash leaves no core file behind
        if self.cpu_seconds is not None:
            out["RLIMIT_CPU"] = (self.cpu_seconds, self.cpu_seconds + 1)
        named = {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_NPROC": self.processes,
        }
        out.update({name: (value, value) for name, value in named.items() if value is not None})
        return out


class SubprocessToolExecutor:
    """A `ToolExecutor` that runs each call in a fresh, limited `python -I` child process."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        python: str = sys.executable,
        max_output_bytes: int = 64 * 1024,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.python = python  # another interpreter (a venv with the tools' packages) works too
        self.max_output_bytes = max_output_bytes  # of stdout and of stderr each; the rest is dropped

    async def run(
        self,
        source_code: str,
        name: str,
        arguments: dict[str, Any],
        *,
        timeout: float = 30.0,
        return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT,
    ) -> ToolOutcome:
        """Call `name(**arguments)` from `source_code` in a child process; never raises for the tool's faults."""
        started = time.perf_counter()
        workdir = tempfile.mkdtemp(prefix="llm-persona-tool-")
        request = {
            "source": source_code,
            "name": name,
            "arguments": arguments,
            "rlimits": self.limits.rlimits(),
            "return_char_limit": return_char_limit,
        }
        payload = json.dumps(request).encode()
        result_limit = max(MIB, 16 * return_char_limit)
        try:
            status, output, stdout, stderr = await self._run_in(workdir, payload, result_limit, name, timeout)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        return ToolOutcome(status, output, stdout, stderr, (time.perf_counter() - started) * 1000)

    async def _run_in(
        self, workdir: str, payload: bytes, result_limit: int, name: str, timeout: float
    ) -> tuple[Literal["success", "error"], str, str, str]:
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                self.python,
                "-I",
                RUNNER,
                str(write_fd),  # the result channel
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=workdir,
                env=_environment(workdir),
                pass_fds=(write_fd,),
                start_new_session=True,  # its own process group, so we can kill all it started
            )
        except OSError as exc:
            os.close(read_fd)
            return "error", f"Tool `{name}` could not be started ({exc}); try again later.", "", ""
        finally:
            os.close(write_fd)
        captures = [_Capture(self.max_output_bytes), _Capture(self.max_output_bytes), _Capture(result_limit)]
        result_pipe = await _stream_from_fd(read_fd)
        streams = [process.stdout, process.stderr, result_pipe]
        readers = asyncio.gather(*(c.drain(s) for c, s in zip(captures, streams, strict=True) if s))
        timed_out = False
        try:
            try:
                await asyncio.wait_for(_talk(process, payload), timeout)
            except TimeoutError:
                timed_out = True
            finally:
                _kill_group(process.pid)  # also on cancellation: nothing it started outlives the call
            await process.wait()
            with contextlib.suppress(TimeoutError):  # a process that left the group may hold a pipe
                await asyncio.wait_for(readers, _DRAIN_GRACE)
        finally:
            readers.cancel()
        stdout, stderr, result = captures
        status, output = self._verdict(result, process.returncode, stderr, name, timeout, timed_out)
        return status, output, stdout.text(), stderr.text()

    def _verdict(
        self, result: _Capture, code: int | None, stderr: _Capture, name: str, timeout: float, timed_out: bool
    ) -> tuple[Literal["success", "error"], str]:
        """The tool's own result if it sent one; otherwise what stopped it, in words the model can use."""
        try:
            sent = json.loads(result.data.decode("utf-8"))
            if sent["status"] in ("success", "error") and isinstance(sent["output"], str):
                return sent["status"], sent["output"]
        except (ValueError, KeyError, TypeError):
            pass
        if timed_out:
            return "error", (
                f"Tool `{name}` timed out after {timeout:g} s and was stopped. "
                "Make it do less per call, or avoid waiting on slow services."
            )
        if result.total > len(result.data):
            return "error", f"Tool `{name}` returned a result too large to read ({result.total} bytes)."
        if code == -signal.SIGXCPU:
            reason = f"used more than its {self.limits.cpu_seconds} s of CPU time and was stopped"
        elif code is not None and code < 0:
            reason = f"crashed ({_signal_name(-code)}) before returning a result"
        else:
            reason = f"exited with code {code} before returning a result (do not call exit() in a tool)"
        lines = stderr.text().strip().splitlines()
        last = f" Its last line of stderr: {lines[-1][:300]}" if lines and code and code > 0 else ""
        return "error", f"Tool `{name}` {reason}.{last}"


class _Capture:
    """The first `limit` bytes of a stream, and how many bytes it carried in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.total = 0

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(_CHUNK):
            self.total += len(chunk)
            room = self.limit - len(self.data)
            if room > 0:
                self.data += chunk[:room]

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        dropped = self.total - len(self.data)
        return f"{text}\n[... {dropped} more bytes not shown]" if dropped > 0 else text


def _environment(home: str) -> dict[str, str]:
    """Only what a Python child needs: no API keys, tokens or database URLs reach the tool."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": home,
    }


async def _talk(process: asyncio.subprocess.Process, request: bytes) -> None:
    """Send the request on stdin, close it, and wait for the process to exit."""
    assert process.stdin is not None
    try:
        process.stdin.write(request)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it died before reading; its exit code says why
    await process.wait()


async def _stream_from_fd(fd: int) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0))
    return reader


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(pgid: int) -> None:
    """SIGKILL the tool's process group: the tool and anything it started that did not leave it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
