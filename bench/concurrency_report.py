"""The concurrency section's results (`Round`, `Target`) and their table: latency, wall time,
throughput, health checks, CPU per message, the store's timings, and the verdicts in its notes.
The measuring is in `bench/concurrency.py`."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field

from bench._procs import Peer, pg_limits
from bench._report import Row, Table, median_p99


@dataclass
class Round:
    wall: float
    latencies: list[float]  # seconds, one per message that was answered
    cpu: dict[str, float]  # who -> CPU seconds during the round
    machine: float  # share of all the machine's cores busy during the round (every process)
    failures: list[str] = field(default_factory=list)


@dataclass
class Target:
    name: str
    rounds: list[Round] = field(default_factory=list)
    serial_cpu: dict[str, float] = field(default_factory=dict)  # who -> CPU seconds per message, serial
    store: dict[str, list[float]] = field(default_factory=dict)  # library run: what -> seconds each
    server_errors: list[str] = field(default_factory=list)  # from the server's log
    pg_peak: int | None = None  # most connections to its PostgreSQL database during the rounds
    health_idle: list[float] = field(default_factory=list)  # GET /v1/health/ seconds, before the rounds
    health_busy: list[float] = field(default_factory=list)  # ... and while they ran
    via_http: bool = True  # sent by this process's httpx clients (not the in-process library run)
    processes: int = 1  # server processes (`serve --workers N`)

    @property
    def latencies(self) -> list[float]:
        return [s for r in self.rounds for s in r.latencies]

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.rounds]

    def cpu_per_message(self, who: str, conversations: int) -> float:
        return statistics.median(r.cpu[who] for r in self.rounds) / conversations


def report(
    targets: list[Target], conversations: int, rounds: int, latency: float, peer: Peer | None, pg: str | None
) -> Table:
    n = f"{conversations:,}"
    table = Table(
        f"concurrency: {n} conversations at once, the fake OpenAI server answers after {latency * 1000:.0f} ms; "
        f"{rounds} round(s)"
    )
    block = table.block(f"latency of one message, all {rounds * conversations:,} messages")
    block.add(Row("ideal: the fake's latency alone", latency, latency, "s", baseline=True))
    for t in targets:
        block.add(Row.of(t.name, t.latencies, "s"))
    block = table.block(f"wall time until all {n} are answered (median round; p99 column: slowest round)")
    block.add(Row("ideal", latency, latency, "s", baseline=True))
    for t in targets:
        block.add(Row.of(t.name, t.walls, "s"))
    block = table.block("throughput, messages per second (median round; p99 column: slowest round)")
    block.add(Row("ideal", conversations / latency, conversations / latency, "msg/s", baseline=True))
    for t in targets:
        block.add(
            Row(t.name, conversations / statistics.median(t.walls), conversations / max(t.walls), "msg/s")
        )

    probed = [t for t in targets if t.health_busy]
    if probed:
        block = table.block(
            "GET /v1/health/ from another thread, every 50 ms: idle, and while the rounds run"
        )
        for t in probed:
            block.add(Row.of(f"{t.name}, idle", [s * 1000 for s in t.health_idle], baseline=t is probed[0]))
            block.add(Row.of(f"{t.name}, during the rounds", [s * 1000 for s in t.health_busy]))
    for t in targets:
        if "server loop" in t.rounds[0].cpu or "loop" in t.rounds[0].cpu:
            _cpu_block(table, t, conversations)
        if t.store:
            block = table.block(f"{t.name}: the store during the last round (each transaction or hand-off)")
            for label, seconds in t.store.items():
                block.add(
                    Row.of(
                        f"{label} ({len(seconds):,})",
                        [s * 1000 for s in seconds],
                        baseline=label == "write transaction: held",
                    )
                )

    if peer is not None:
        ours = [t for t in targets if t.name.startswith("llm-persona serve")]
        theirs = targets[-1]
        block = table.block(
            "llm-persona / peer (latency, wall: below 1 is faster; throughput: above 1 is more)"
        )
        for t in ours:
            engine = t.name.rsplit(", ", 1)[1]
            (om, op), (pm, pp) = median_p99(t.latencies), median_p99(theirs.latencies)
            block.add(Row(f"{engine}: latency", om / pm, op / pp, "x"))
            block.add(
                Row(
                    f"{engine}: wall", statistics.median(t.walls) / statistics.median(theirs.walls), None, "x"
                )
            )
            block.add(
                Row(
                    f"{engine}: throughput",
                    statistics.median(theirs.walls) / statistics.median(t.walls),
                    None,
                    "x",
                )
            )
    table.notes.extend(verdicts(targets, conversations, latency, pg))
    return table


CPU_LABELS = {
    "server loop": "server: event-loop thread (HTTP, agent loop, SDK)",
    "server threads": "server: other threads (store, via asyncio.to_thread)",
    "loop": "event-loop thread (agent loop, SDK)",
    "threads": "other threads (store, via asyncio.to_thread)",
    "client": "this client (all its httpx clients)",
    "fake": "the fake OpenAI server",
}


def _cpu_block(table: Table, t: Target, conversations: int) -> None:
    block = table.block(f"{t.name}: CPU per message at {conversations:,} at once, ms (median round)")
    if t.serial_cpu:
        serial = t.serial_cpu["server loop"] + t.serial_cpu["server threads"]
        block.add(Row("server, one message at a time (instant model)", serial * 1000, None, baseline=True))
        total = t.cpu_per_message("server loop", conversations) + t.cpu_per_message(
            "server threads", conversations
        )
        block.add(Row("server, at once: all threads", total * 1000, None))
    for who, label in CPU_LABELS.items():
        if who in t.rounds[0].cpu:
            block.add(Row(label, t.cpu_per_message(who, conversations) * 1000, None))


def verdicts(targets: list[Target], conversations: int, latency: float, pg: str | None) -> list[str]:
    notes = []
    cores = os.cpu_count() or 1
    for t in targets:
        failures = [f for r in t.rounds for f in r.failures]
        if failures:
            total = len(t.rounds) * conversations
            notes.append(
                f"{t.name}: {len(failures):,} of {total:,} messages FAILED, e.g. {failures[0]}"
                + (f" The server logged: {'; '.join(t.server_errors[:2])}" if t.server_errors else "")
            )
    if pg is not None and any(t.pg_peak is not None for t in targets):
        limit, used = pg_limits(pg)
        peaks = ", ".join(f"{t.name}: {t.pg_peak}" for t in targets if t.pg_peak is not None)
        notes.append(
            f"PostgreSQL connections: the server allows {limit} (max_connections; {used} open now, other "
            f"users included). Peak connections to the bench's database during the rounds: {peaks}. Agent "
            "locks share one connection per process, plus a few for waiting on another replica's "
            "(store/advisory.py); the data pool is bounded too, so turns at once never need more."
        )
    alone = targets[0]
    ceiling = conversations / statistics.median(alone.walls)
    notes.append(
        f"Client: it sends the {conversations:,} requests straight to the fake in {statistics.median(alone.walls):.2f} s "
        f"({ceiling:,.0f} msg/s, ideal {conversations / latency:,.0f}), using "
        f"{statistics.median(r.cpu['client'] for r in alone.rounds):.2f} s of CPU: "
        + ", ".join(
            f"{t.name} {'IS limited by the client' if conversations / statistics.median(t.walls) > 0.7 * ceiling else 'is not limited by it'}"
            for t in targets[1:]
            if t.via_http
        )
        + "."
    )
    for t in targets[1:]:
        wall = statistics.median(t.walls)
        machine = statistics.median(r.machine for r in t.rounds)
        ours = sum(statistics.median(r.cpu[w] for r in t.rounds) for w in t.rounds[0].cpu) / wall / cores
        failed = sum(len(r.failures) for r in t.rounds) / (len(t.rounds) * conversations)
        line = (
            f"{t.name}: {conversations / wall:,.0f} msg/s, {wall / latency:.1f}x the ideal wall time"
            + (f" ({failed:.0%} of its messages failed: the figures are not comparable)" if failed else "")
            + f"; the machine's {cores} cores were {machine:.0%} busy, {ours:.0%} by the bench's processes"
        )
        if t.serial_cpu:
            loop = t.cpu_per_message("server loop", conversations)
            threads = t.cpu_per_message("server threads", conversations)
            serial = t.serial_cpu["server loop"] + t.serial_cpu["server threads"]
            busy = (loop + threads) * conversations / wall
            line += (
                f". The server used {(loop + threads) * 1000:.1f} ms of CPU per message ({loop * 1000:.1f} event "
                f"loop + {threads * 1000:.1f} store threads; {serial * 1000:.1f} one at a time): {busy:.0%} of one "
                "core. "
                + (
                    "Its threads share one GIL, so one core is all a server process gets: its CPU per message "
                    "is the limit."
                    if busy > 0.8 and t.processes == 1
                    else f"Its {t.processes} processes together used {busy:.1f} cores of {cores}."
                    if t.processes > 1
                    else "The machine's cores were saturated, other processes included: the server got less "
                    "than one core."
                    if machine > 0.9
                    else "It was neither CPU-bound nor short of cores: it waited (locks, I/O)."
                )
            )
        notes.append(line if line.endswith(".") else line + ".")
    for t in targets:
        if t.store:
            waits = t.store["write transaction: wait for the write lock"]
            held = t.store["write transaction: held"]
            queue = t.store["asyncio.to_thread: wait for a worker thread"]
            wall = t.rounds[-1].wall
            notes.append(
                f"{t.name}, last round: writes held the write lock {sum(held):.2f} s of {wall:.2f} s "
                f"({sum(held) / wall:.0%}); writers waited for it {sum(waits):.2f} s in all (slowest "
                f"{max(waits, default=0) * 1000:.0f} ms). Hand-offs to a worker thread waited "
                f"{statistics.median(queue) * 1000:.0f} ms (median) for one of the default executor's "
                f"{min(32, cores + 4)} threads."
            )
    return notes
