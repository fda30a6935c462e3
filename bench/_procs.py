"""Processes the benchmarks run: the fake OpenAI server and `llm-persona serve`, each in its own
process (as in production, the server gets its own interpreter and cores); throwaway PostgreSQL
databases; what /proc says about a process (RSS, CPU time)."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- /proc ------------------------------------------------------------------------------------------


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/PID/status in MiB: VmRSS (now) or VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (default: this one), all its threads."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15 of stat)


# --- processes --------------------------------------------------------------------------------------


@dataclass
class Process:
    popen: subprocess.Popen[str] | None  # None: a process this run did not start (a peer's, --peer-pid)
    url: str
    log: Path | None = None  # where its stdout and stderr go
    given_pid: int = 0  # the pid when popen is None

    def errors(self) -> list[str]:
        """The distinct last lines of the tracebacks in its log (what went wrong, if anything did)."""
        if self.log is None or not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        found = [b for a, b in itertools.pairwise(lines) if not b.startswith(" ") and a.startswith(" ")]
        return list(dict.fromkeys(line for line in found if "Error" in line or "Exception" in line))

    @property
    def pid(self) -> int:
        return self.popen.pid if self.popen is not None else self.given_pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self, field: str = "VmRSS") -> float:
        return rss_mib(self.pid, field)


def _stop(popen: subprocess.Popen[str]) -> None:
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


@contextmanager
def fake_openai(port: int = 0) -> Iterator[Process]:
    """`python -m bench.fake_openai` in a process of its own; `.url` is its base URL (…/v1)."""
    popen = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_openai", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert popen.stdout is not None
        line = popen.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"the fake OpenAI server did not start (exit {popen.wait()})")
        yield Process(popen, line)
    finally:
        _stop(popen)


def serve_command(port: int, db: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llm_persona.cli",
        "serve",
        "--port",
        str(port),
        "--db",
        db,
        "--log-level",
        "warning",
        *extra,
    ]


def serve_env(openai_base_url: str | None) -> dict[str, str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    if openai_base_url:
        env["OPENAI_BASE_URL"] = openai_base_url
    return env


def wait_healthy(
    url: str, popen: subprocess.Popen[str], timeout: float = 60, path: str = "/v1/health/"
) -> float:
    """Poll GET url+path every 2 ms until it answers 200; the moment it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    with httpx.Client(timeout=1) as http:
        while True:
            try:
                if http.get(url + path).status_code == 200:
                    return time.perf_counter()
            except httpx.TransportError:
                pass
            if popen.poll() is not None:
                raise RuntimeError(f"{popen.args!r} exited with {popen.returncode} before answering")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{popen.args!r} did not answer {url}{path} in {timeout:.0f} s")
            time.sleep(0.002)


@contextmanager
def serve(db: str, openai_base_url: str | None, *extra: str) -> Iterator[Process]:
    """`llm-persona serve` on a free port with the store at `db`, its OpenAI provider at the fake;
    `extra`: more options (e.g. "--workers", "2")."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="llm-persona-bench-log-") as folder:
        log = Path(folder) / "serve.log"
        with log.open("w") as out:
            popen = subprocess.Popen(
                serve_command(port, db, *extra),
                cwd=ROOT,
                env=serve_env(openai_base_url),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, popen)
            yield Process(popen, url, log)
        finally:
            _stop(popen)


# --- databases --------------------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="llm-persona-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def pg_url(server: str = PG_DEFAULT) -> Iterator[str]:
    """A throwaway database on the PostgreSQL server at `server`, dropped afterwards."""
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(
        make_url(server).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    name = f"llm_persona_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def database(engine: str, pg_server: str = PG_DEFAULT) -> Iterator[str]:
    """A fresh database URL: engine "sqlite" or "postgresql"."""
    manager = pg_url(pg_server) if engine == "postgresql" else sqlite_url()
    with manager as url:
        yield url


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (e.g. the workers of `serve --workers N`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            except (FileNotFoundError, ProcessLookupError):
                continue
            if ppid == str(pid):
                found.append(int(entry.name))
    return found


def server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a server's event-loop threads and of its other threads, over the process and
    its child processes (each worker of `serve --workers N` is a process with its own loop)."""
    loops = others = 0.0
    for process in (pid, *children(pid)):
        main, other = thread_cpu(process)
        loops, others = loops + main, others + other
    return loops, others


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of a process's main thread (its event loop) and of all its other threads."""
    main = other = 0.0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:  # the process ended meanwhile
        return main, other
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / _TICKS
        if int(task.name) == pid:
            main += seconds
        else:
            other += seconds
    return main, other


@contextmanager
def using_fake(fake: Process | None) -> Iterator[Process]:
    """`fake` if the caller runs one already, else a fake OpenAI server of our own."""
    if fake is not None:
        yield fake
        return
    with fake_openai() as started:
        yield started


@dataclass(frozen=True)
class Peer:
    """Another server speaking Letta's /v1 API, measured side by side with llm-persona."""

    url: str
    model: str  # the handle its agents use (it must answer at once: the fake's `fake-model`)
    api_key: str | None = None
    pid: int | None = None  # its server process, if on this machine: its RSS and CPU are read too

    @property
    def process(self) -> Process | None:
        """The peer's server process (RSS and CPU from /proc), if its pid was given."""
        return Process(None, self.url, given_pid=self.pid) if self.pid else None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def name(self) -> str:
        return f"peer {self.url}"


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return (total - idle) / _TICKS, total / _TICKS


def _admin_url(url: str) -> str:
    from sqlalchemy import make_url

    return (
        make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    )


class PgWatch:
    """The most connections the database of `url` had open while the block ran (polled every 50 ms
    on one connection, opened first so that a server out of connections cannot lock it out)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import make_url

        self.database = make_url(url).database
        self.admin = _admin_url(url)
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PgWatch:
        import psycopg

        conn = psycopg.connect(self.admin, autocommit=True)

        def poll() -> None:
            with conn:
                while not self._stop.wait(0.05):
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                    ).fetchone()
                    self.peak = max(self.peak, int(row[0]) if row else 0)

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def pg_limits(url: str) -> tuple[int, int]:
    """(max_connections, connections open now to any database) on the PostgreSQL server of `url`."""
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        limit = conn.execute("SHOW max_connections").fetchone()
        used = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()
    return int(limit[0]) if limit else 0, int(used[0]) if used else 0
