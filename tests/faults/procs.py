"""`llm-persona serve` as a real subprocess that a test can kill -9 and start again, over one database,
with its model calls going to a fake OpenAI server in the test process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One `llm-persona serve` process at a time on `db_url`; `start` after `kill` brings up a new one."""

    def __init__(self, db_url: str, openai_base_url: str, workdir: Path, *args: str) -> None:
        self.db_url = db_url
        self.args = args  # more options for `llm-persona serve`
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_PERSONA_", "OPENAI_"))}
        self.env.update(HOME=str(workdir), OPENAI_BASE_URL=openai_base_url, OPENAI_API_KEY="sk-fault-tests")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"serve-{self.starts}.log"

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None, "the previous server is still running"
        self.starts += 1
        port = free_port()
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llm_persona.cli",
                "serve",
                "--port",
                str(port),
                "--db",
                self.db_url,
                "--log-level",
                "warning",
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"llm-persona serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/v1/health/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"llm-persona serve did not answer /v1/health/ in {timeout:g}s:\n{self.log()}"
                )
            time.sleep(0.02)

    def kill(self) -> None:
        """kill -9: no shutdown handler runs, connections and locks die with the process."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()
        self.process = None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), then kill -9 if it does not come."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._close_log()
        self.process = None

    def log(self) -> str:
        self._close_log()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
